/*
 * Bearer-token authentication with per-token rules, enough to reproduce
 * "the Role lacks watch" in a test.  Token file lines:
 *
 *   token,user,rules
 *   rules := '*' | 'admin' | rule (';' rule)*
 *   rule  := resource ':' verbs      resource := configmaps | leases | '*'
 *   verbs := '*' | verb ('|' verb)*
 */
#include "kl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALL_VERBS ((1u << KL_VERB_COUNT) - 1)

struct kl_auth {
  kl_token *tokens;
  const char *admin_token;
};

static char *trim(char *s) {
  while (isspace((unsigned char)*s))
    s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1]))
    *--e = '\0';
  return s;
}

static kl_token *add_token(kl_auth *a, const char *token, const char *user) {
  kl_token *t = kl_xcalloc(1, sizeof *t);
  t->token = kl_strdup(token);
  t->user = kl_strdup(user);
  t->next = a->tokens;
  a->tokens = t;
  return t;
}

static bool parse_verbs(char *s, unsigned *mask) {
  *mask = 0;
  s = trim(s);
  if (strcmp(s, "*") == 0) {
    *mask = ALL_VERBS;
    return true;
  }
  for (char *v = strtok(s, "|"); v; v = strtok(NULL, "|")) {
    int verb = kl_verb_from_name(trim(v));
    if (verb < 0)
      return false;
    *mask |= 1u << verb;
  }
  return *mask != 0;
}

static bool parse_rules(kl_token *t, char *rules) {
  rules = trim(rules);
  if (strcmp(rules, "admin") == 0 || strcmp(rules, "*") == 0) {
    for (int r = 0; r < KL_RES_COUNT; r++)
      t->verbs[r] = ALL_VERBS;
    t->admin = rules[0] == 'a';
    return true;
  }
  char *save = NULL;
  for (char *rule = strtok_r(rules, ";", &save); rule; rule = strtok_r(NULL, ";", &save)) {
    char *colon = strchr(rule, ':');
    if (!colon)
      return false;
    *colon = '\0';
    char *res = trim(rule);
    unsigned mask;
    if (!parse_verbs(colon + 1, &mask))
      return false;
    bool matched = false;
    for (int r = 0; r < KL_RES_COUNT; r++) {
      if (strcmp(res, "*") == 0 || strcmp(res, kl_resources[r].plural) == 0) {
        t->verbs[r] |= mask;
        matched = true;
      }
    }
    if (!matched)
      return false;
  }
  return true;
}

kl_auth *kl_auth_load(const char *path, const char *admin_token, char **err) {
  *err = NULL;
  FILE *f = fopen(path, "r");
  if (!f) {
    kl_buf b = {0};
    kl_buf_printf(&b, "cannot open token file %s", path);
    *err = kl_buf_steal(&b);
    return NULL;
  }
  kl_auth *a = kl_xcalloc(1, sizeof *a);
  char line[4096];
  int lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char *s = trim(line);
    if (!*s || *s == '#')
      continue;
    char *c1 = strchr(s, ',');
    char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
    if (!c2) {
      kl_buf b = {0};
      kl_buf_printf(&b, "%s:%d: expected token,user,rules", path, lineno);
      *err = kl_buf_steal(&b);
      break;
    }
    *c1 = *c2 = '\0';
    char *token = trim(s), *user = trim(c1 + 1);
    if (!*token || !*user) {
      kl_buf b = {0};
      kl_buf_printf(&b, "%s:%d: empty token or user", path, lineno);
      *err = kl_buf_steal(&b);
      break;
    }
    kl_token *t = add_token(a, token, user);
    if (!parse_rules(t, c2 + 1)) {
      kl_buf b = {0};
      kl_buf_printf(&b, "%s:%d: bad rules (want e.g. configmaps:get|list;leases:*)", path, lineno);
      *err = kl_buf_steal(&b);
      break;
    }
  }
  fclose(f);
  if (*err) {
    kl_auth_free(a);
    return NULL;
  }
  kl_token *admin = add_token(a, admin_token, "kube-lite-admin");
  for (int r = 0; r < KL_RES_COUNT; r++)
    admin->verbs[r] = ALL_VERBS;
  admin->admin = true;
  a->admin_token = admin->token;
  return a;
}

void kl_auth_free(kl_auth *a) {
  if (!a)
    return;
  kl_token *n;
  for (kl_token *t = a->tokens; t; t = n) {
    n = t->next;
    free(t->token);
    free(t->user);
    free(t);
  }
  free(a);
}

const kl_token *kl_auth_lookup(const kl_auth *a, const char *authorization) {
  if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
    return NULL;
  const char *tok = authorization + 7;
  while (*tok == ' ')
    tok++;
  for (kl_token *t = a->tokens; t; t = t->next)
    if (strcmp(t->token, tok) == 0)
      return t;
  return NULL;
}

bool kl_auth_allows(const kl_token *t, int res, int verb) {
  if (!t)
    return true;
  if (res < 0 || res >= KL_RES_COUNT || verb < 0 || verb >= KL_VERB_COUNT)
    return true;
  return (t->verbs[res] >> verb) & 1u;
}

bool kl_auth_rotate(kl_auth *a, const char *old_token, const char *new_token) {
  if (!old_token || !new_token || !*new_token)
    return false;
  kl_token *found = NULL;
  for (kl_token *t = a->tokens; t; t = t->next) {
    if (strcmp(t->token, new_token) == 0 && strcmp(old_token, new_token) != 0)
      return false;
    if (strcmp(t->token, old_token) == 0)
      found = t;
  }
  if (!found)
    return false;
  bool was_admin = found->token == a->admin_token;
  free(found->token);
  found->token = kl_strdup(new_token);
  if (was_admin)
    a->admin_token = found->token;
  return true;
}

const char *kl_auth_admin_token(const kl_auth *a) {
  return a ? a->admin_token : NULL;
}

/*
 * TLS with GnuTLS.  Certificates are made in-process at start (no openssl
 * child process, so startup stays in the milliseconds): a throwaway CA and
 * a serving certificate for 127.0.0.1, ::1 and localhost signed by it, so
 * clients exercise real CA verification.  With --data-dir they are kept
 * and reused, so clients trusting the CA survive a restart.
 *
 * GnuTLS runs over memory buffers: libuv owns the socket, GnuTLS only
 * transforms bytes.
 */
#include "kl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define CERT_VALIDITY_SECS (10L * 365 * 24 * 3600)

struct kl_tls {
  gnutls_certificate_credentials_t cred;
  gnutls_priority_t prio;
  char *ca_pem;
};

struct kl_tls_session {
  gnutls_session_t s;
  kl_conn *conn;
  kl_buf in;
  size_t in_off;
  kl_buf out;
  bool handshake_done;
};

/* ---- certificates ---------------------------------------------------------- */

static char *datum_to_str(gnutls_datum_t *d) {
  char *s = kl_xmalloc(d->size + 1);
  memcpy(s, d->data, d->size);
  s[d->size] = '\0';
  gnutls_free(d->data);
  return s;
}

static int new_key(gnutls_x509_privkey_t *key) {
  int rc = gnutls_x509_privkey_init(key);
  if (rc == 0)
    rc = gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
                                      GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
  return rc;
}

static int base_cert(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *dn) {
  unsigned char serial[16];
  kl_random_bytes(serial, sizeof serial);
  serial[0] &= 0x7f; /* a positive serial, as RFC 5280 requires */
  time_t now = time(NULL);
  const char *err;
  int rc;
  if ((rc = gnutls_x509_crt_set_version(crt, 3)) ||
      (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof serial)) ||
      (rc = gnutls_x509_crt_set_activation_time(crt, now - 3600)) ||
      (rc = gnutls_x509_crt_set_expiration_time(crt, now + CERT_VALIDITY_SECS)) ||
      (rc = gnutls_x509_crt_set_dn(crt, dn, &err)) || (rc = gnutls_x509_crt_set_key(crt, key)))
    return rc;
  unsigned char id[64];
  size_t idlen = sizeof id;
  if ((rc = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, id, &idlen)) == 0)
    rc = gnutls_x509_crt_set_subject_key_id(crt, id, idlen);
  return rc;
}

static int generate(char **ca_pem, char **cert_pem, char **key_pem) {
  gnutls_x509_privkey_t ca_key = NULL, key = NULL;
  gnutls_x509_crt_t ca = NULL, crt = NULL;
  gnutls_datum_t d;
  int rc;
  if ((rc = new_key(&ca_key)) || (rc = new_key(&key)) || (rc = gnutls_x509_crt_init(&ca)) ||
      (rc = gnutls_x509_crt_init(&crt)))
    goto out;
  if ((rc = base_cert(ca, ca_key, "CN=kube-lite-ca,O=kube-lite")) ||
      (rc = gnutls_x509_crt_set_basic_constraints(ca, 1, -1)) ||
      (rc = gnutls_x509_crt_set_key_usage(ca, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN |
                                                  GNUTLS_KEY_DIGITAL_SIGNATURE)) ||
      (rc = gnutls_x509_crt_sign2(ca, ca, ca_key, GNUTLS_DIG_SHA256, 0)))
    goto out;
  static const unsigned char v4[4] = {127, 0, 0, 1};
  static const unsigned char v6[16] = {[15] = 1};
  unsigned char ca_id[64];
  size_t ca_idlen = sizeof ca_id;
  if ((rc = base_cert(crt, key, "CN=kube-lite,O=kube-lite")) ||
      (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) ||
      (rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
                                                   GNUTLS_KEY_KEY_ENCIPHERMENT)) ||
      (rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) ||
      (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
                                                 GNUTLS_FSAN_APPEND)) ||
      (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v4, sizeof v4,
                                                 GNUTLS_FSAN_APPEND)) ||
      (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v6, sizeof v6,
                                                 GNUTLS_FSAN_APPEND)) ||
      (rc = gnutls_x509_crt_get_subject_key_id(ca, ca_id, &ca_idlen, NULL)) ||
      (rc = gnutls_x509_crt_set_authority_key_id(crt, ca_id, ca_idlen)) ||
      (rc = gnutls_x509_crt_sign2(crt, ca, ca_key, GNUTLS_DIG_SHA256, 0)))
    goto out;
  if ((rc = gnutls_x509_crt_export2(ca, GNUTLS_X509_FMT_PEM, &d)))
    goto out;
  *ca_pem = datum_to_str(&d);
  if ((rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d)))
    goto out;
  *cert_pem = datum_to_str(&d);
  if ((rc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d)))
    goto out;
  *key_pem = datum_to_str(&d);
out:
  if (ca_key)
    gnutls_x509_privkey_deinit(ca_key);
  if (key)
    gnutls_x509_privkey_deinit(key);
  if (ca)
    gnutls_x509_crt_deinit(ca);
  if (crt)
    gnutls_x509_crt_deinit(crt);
  return rc;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  kl_buf b = {0};
  char tmp[4096];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
    kl_buf_append(&b, tmp, n);
  fclose(f);
  return kl_buf_steal(&b);
}

static bool write_file(const char *path, const char *data) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return false;
  /* The private key is among these; nobody else needs to read any. */
  fchmod(fileno(f), 0600);
  bool ok = fputs(data, f) >= 0;
  return fclose(f) == 0 && ok;
}

static void pem_paths(const char *dir, char p[3][4096]) {
  snprintf(p[0], 4096, "%s/tls-ca.crt", dir);
  snprintf(p[1], 4096, "%s/tls-server.crt", dir);
  snprintf(p[2], 4096, "%s/tls-server.key", dir);
}

kl_tls *kl_tls_new(const char *data_dir, char **err) {
  char *pem[3] = {0};
  char paths[3][4096];
  *err = NULL;
  if (data_dir) {
    pem_paths(data_dir, paths);
    for (int i = 0; i < 3; i++)
      pem[i] = read_file(paths[i]);
    if (!pem[0] || !pem[1] || !pem[2]) {
      for (int i = 0; i < 3; i++) {
        free(pem[i]);
        pem[i] = NULL;
      }
    }
  }
  int rc = 0;
  if (!pem[0]) {
    rc = generate(&pem[0], &pem[1], &pem[2]);
    if (rc == 0 && data_dir)
      for (int i = 0; i < 3; i++)
        write_file(paths[i], pem[i]);
  }
  kl_tls *t = kl_xcalloc(1, sizeof *t);
  if (rc == 0)
    rc = gnutls_certificate_allocate_credentials(&t->cred);
  if (rc == 0) {
    gnutls_datum_t cert = {(unsigned char *)pem[1], (unsigned)strlen(pem[1])};
    gnutls_datum_t key = {(unsigned char *)pem[2], (unsigned)strlen(pem[2])};
    rc = gnutls_certificate_set_x509_key_mem(t->cred, &cert, &key, GNUTLS_X509_FMT_PEM);
  }
  if (rc == 0)
    rc = gnutls_priority_init(&t->prio, "NORMAL", NULL);
  free(pem[1]);
  free(pem[2]);
  t->ca_pem = pem[0];
  if (rc < 0) {
    kl_buf b = {0};
    kl_buf_printf(&b, "TLS setup failed: %s", gnutls_strerror(rc));
    *err = kl_buf_steal(&b);
    kl_tls_free(t);
    return NULL;
  }
  return t;
}

void kl_tls_free(kl_tls *t) {
  if (!t)
    return;
  if (t->cred)
    gnutls_certificate_free_credentials(t->cred);
  if (t->prio)
    gnutls_priority_deinit(t->prio);
  free(t->ca_pem);
  free(t);
}

const char *kl_tls_ca_pem(const kl_tls *t) {
  return t->ca_pem;
}

/* ---- sessions ------------------------------------------------------------------ */

static ssize_t push(gnutls_transport_ptr_t p, const void *data, size_t len) {
  kl_tls_session *s = p;
  kl_buf_append(&s->out, data, len);
  return (ssize_t)len;
}

static ssize_t pull(gnutls_transport_ptr_t p, void *data, size_t len) {
  kl_tls_session *s = p;
  size_t avail = s->in.len - s->in_off;
  if (avail == 0) {
    gnutls_transport_set_errno(s->s, EAGAIN);
    return -1;
  }
  if (len > avail)
    len = avail;
  memcpy(data, s->in.data + s->in_off, len);
  s->in_off += len;
  return (ssize_t)len;
}

static void flush(kl_tls_session *s) {
  if (s->out.len == 0)
    return;
  size_t n = s->out.len;
  kl_conn_send_raw(s->conn, kl_buf_steal(&s->out), n);
}

kl_tls_session *kl_tls_session_new(kl_tls *t, kl_conn *c) {
  kl_tls_session *s = kl_xcalloc(1, sizeof *s);
  s->conn = c;
  if (gnutls_init(&s->s, GNUTLS_SERVER | GNUTLS_NONBLOCK) != 0) {
    free(s);
    return NULL;
  }
  gnutls_priority_set(s->s, t->prio);
  gnutls_credentials_set(s->s, GNUTLS_CRD_CERTIFICATE, t->cred);
  gnutls_certificate_server_set_request(s->s, GNUTLS_CERT_IGNORE);
  /* Offer only HTTP/1.1 so Go clients do not try HTTP/2. */
  gnutls_datum_t alpn = {(unsigned char *)"http/1.1", 8};
  gnutls_alpn_set_protocols(s->s, &alpn, 1, 0);
  gnutls_transport_set_ptr(s->s, s);
  gnutls_transport_set_push_function(s->s, push);
  gnutls_transport_set_pull_function(s->s, pull);
  return s;
}

void kl_tls_session_free(kl_tls_session *s) {
  if (!s)
    return;
  gnutls_deinit(s->s);
  kl_buf_free(&s->in);
  kl_buf_free(&s->out);
  free(s);
}

bool kl_tls_feed(kl_tls_session *s, const char *data, size_t len, kl_buf *plain) {
  if (!s)
    return false;
  kl_buf_append(&s->in, data, len);
  bool ok = true;
  if (!s->handshake_done) {
    int rc = gnutls_handshake(s->s);
    if (rc == 0)
      s->handshake_done = true;
    else if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED && gnutls_error_is_fatal(rc))
      ok = false;
  }
  while (ok && s->handshake_done) {
    char tmp[16384];
    ssize_t n = gnutls_record_recv(s->s, tmp, sizeof tmp);
    if (n > 0)
      kl_buf_append(plain, tmp, (size_t)n);
    else if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
      break;
    else if (n == 0 || gnutls_error_is_fatal((int)n))
      ok = false;
  }
  flush(s);
  if (s->in_off == s->in.len) {
    s->in.len = s->in_off = 0;
  } else if (s->in_off > 65536) {
    memmove(s->in.data, s->in.data + s->in_off, s->in.len - s->in_off);
    s->in.len -= s->in_off;
    s->in_off = 0;
  }
  return ok;
}

bool kl_tls_write(kl_tls_session *s, const char *data, size_t len) {
  if (!s || !s->handshake_done)
    return false;
  while (len > 0) {
    ssize_t n = gnutls_record_send(s->s, data, len);
    if (n < 0) {
      if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        continue;
      return false;
    }
    data += n;
    len -= (size_t)n;
  }
  flush(s);
  return true;
}

/* The retained-entries index (store/retained.h): kept current change by change, it must always
 * equal the index read anew from the object; random sequences of the changes a store makes
 * (adds, marks, drops, other keys), compared after every step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/alloc.h"
#include "store/handles.h"
#include "store/retained.h"
#include "testutil.h"

#define PREFIX "checkpointID-"

static unsigned int seed;

static unsigned int draw(unsigned int n) {
  seed = seed * 1103515245u + 12345u;
  return (seed >> 8) % n;
}

static void assert_same(const k8sha__retained *a, const k8sha__retained *b, int step) {
  const char *key;
  json_t *v;
  size_t i;
  ck_assert_msg(a->n == b->n, "step %d: %zu live entries kept, %zu read anew", step, a->n, b->n);
  for (i = 0; i < a->n; i++)
    ck_assert_msg(strcmp(a->live[i], b->live[i]) == 0, "step %d: live[%zu] %s, read anew %s",
                  step, i, a->live[i], b->live[i]);
  for (i = 1; i < a->n; i++)
    ck_assert_msg(strcmp(a->live[i - 1], a->live[i]) < 0, "step %d: not in key order", step);
  ck_assert_uint_eq(json_object_size(a->marked), json_object_size(b->marked));
  json_object_foreach(b->marked, key, v) {
    ck_assert_ptr_nonnull(json_object_get(a->marked, key));
    ck_assert_str_eq(json_string_value(json_object_get(a->marked, key)), json_string_value(v));
  }
}

START_TEST(kept_current_equals_read_anew) {
  const k8sha_allocator *al = k8sha__default_allocator();
  k8sha__retained kept, anew;
  json_t *obj = json_pack("{s:{}}", "data"), *data = json_object_get(obj, "data");
  uint64_t gen = 1;
  int step, run;

  for (run = 0; run < 20; run++) {
    seed = 7919u * (unsigned int)run + 1u;
    json_object_clear(data);
    k8sha__retained_init(&kept, al);
    ck_assert_int_eq(k8sha__retained_sync(&kept, obj, ++gen, NULL, PREFIX), 0);
    for (step = 0; step < 400; step++) {
      json_t *changes = json_object();
      const char *key;
      json_t *v;
      unsigned int i, n = 1 + draw(4);
      for (i = 0; i < n; i++) {
        char k[48], val[64];
        unsigned int what = draw(10), id = draw(60);
        if (what == 9)
          snprintf(k, sizeof(k), "counter%u", id % 3); /* not under the prefix */
        else
          snprintf(k, sizeof(k), PREFIX "%019u", id);
        if (what < 4)
          snprintf(val, sizeof(val), "live-%u-%u", id, step);
        else if (what < 7)
          snprintf(val, sizeof(val), K8SHA__DELETING_MARKER "gone-%u", id);
        else
          val[0] = '\0';
        json_object_set_new(changes, k, val[0] ? json_string(val) : json_null());
      }
      /* the object as the fenced ConfigMap applies them, and the index from them */
      json_object_foreach(changes, key, v) {
        if (json_is_null(v))
          json_object_del(data, key);
        else
          json_object_set(data, key, v);
      }
      ck_assert_int_eq(k8sha__retained_sync(&kept, obj, ++gen, changes, PREFIX), 0);
      k8sha__retained_init(&anew, al);
      ck_assert_int_eq(k8sha__retained_sync(&anew, obj, gen, NULL, PREFIX), 0);
      assert_same(&kept, &anew, step);
      /* the same generation again: nothing to do; a skipped one: read anew */
      ck_assert_int_eq(k8sha__retained_sync(&kept, obj, gen, NULL, PREFIX), 0);
      assert_same(&kept, &anew, step);
      if (draw(10) == 0) {
        gen += 2;
        ck_assert_int_eq(k8sha__retained_sync(&kept, obj, gen, changes, PREFIX), 0);
        assert_same(&kept, &anew, step);
      }
      k8sha__retained_clear(&anew);
      json_decref(changes);
    }
    ck_assert_uint_gt(kept.n, 0);
    ck_assert_uint_gt(json_object_size(kept.marked), 0);
    k8sha__retained_clear(&kept);
  }
  json_decref(obj);
}
END_TEST

/* Generation 0 (an object that is not followed, the lock's own ConfigMap): always read anew,
 * never taken from changes. */
START_TEST(generation_zero_is_read_anew) {
  const k8sha_allocator *al = k8sha__default_allocator();
  k8sha__retained r;
  json_t *obj = json_pack("{s:{s:s, s:s, s:s}}", "data", PREFIX "2", "b", PREFIX "1", "a",
                          "other", "x");
  json_t *lie = json_pack("{s:s}", PREFIX "9", "z");
  k8sha__retained_init(&r, al);
  ck_assert_int_eq(k8sha__retained_sync(&r, obj, 0, NULL, PREFIX), 0);
  ck_assert_uint_eq(r.n, 2);
  ck_assert_str_eq(r.live[0], PREFIX "1");
  ck_assert_int_eq(k8sha__retained_sync(&r, obj, 0, lie, PREFIX), 0);
  ck_assert_uint_eq(r.n, 2);
  ck_assert_int_eq(k8sha__retained_is_live(&r, PREFIX "9"), 0);
  ck_assert_int_eq(k8sha__retained_is_live(&r, PREFIX "2"), 1);
  k8sha__retained_clear(&r);
  json_decref(obj);
  json_decref(lie);
}
END_TEST

int main(void) {
  Suite *s = suite_create("retained");
  TCase *tc = tcase_create("retained");
  tcase_add_test(tc, kept_current_equals_read_anew);
  tcase_add_test(tc, generation_zero_is_read_anew);
  suite_add_tcase(s, tc);
  return tu_run(s);
}

/*
 * kube_lite_bench: throughput and latency figures for k8sha-kube-lite.
 * Not a test: it prints numbers.
 *
 *   kube_lite_bench [--url URL] [--seconds S]
 *
 * Without --url it starts the server built in this tree (via the harness).
 * Phases:
 *   1. PUT with resourceVersion, one keep-alive connection, one at a time
 *   2. PUT with resourceVersion, 16 connections in parallel
 *   3. event fan-out to 100 watchers, writer unpaced (events/s)
 *   4. event fan-out to 100 watchers, writer paced (delivery latency)
 * Latency of an event is measured from just before the PUT that causes it
 * is sent to its arrival at a watcher (the send time travels in the data).
 */
#include "kubelite_harness.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NS "bench"
#define PARALLEL 16
#define WATCHERS 100
#define PACED_WRITES_PER_SEC 200

static const char *base_url;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static double pct(long long *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1));
    return (double)v[i] / 1000.0; /* ns -> us */
}

typedef struct samples {
    long long *v;
    size_t n, cap;
} samples;

static void add_sample(samples *s, long long x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = x;
}

/* ---- a PUT client ------------------------------------------------------ */

typedef struct putter {
    CURL *easy;
    char name[32];
    char url[256];
    char body[256];
    char resp[4096];
    size_t resp_len;
    unsigned long long rv;
    long long sent_at;
    struct curl_slist *headers;
} putter;

static size_t put_resp(char *p, size_t size, size_t n, void *ud)
{
    putter *c = ud;
    size_t len = size * n;
    if (c->resp_len + len < sizeof c->resp) {
        memcpy(c->resp + c->resp_len, p, len);
        c->resp_len += len;
        c->resp[c->resp_len] = '\0';
    }
    return len;
}

static unsigned long long parse_rv(const char *s)
{
    const char *p = strstr(s, "\"resourceVersion\":\"");
    return p ? strtoull(p + 19, NULL, 10) : 0;
}

static void putter_init(putter *c, const char *name)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->url, sizeof c->url, "%s/api/v1/namespaces/" NS "/configmaps/%s", base_url, name);
    c->easy = curl_easy_init();
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    c->headers = curl_slist_append(c->headers, "Expect:");
    curl_easy_setopt(c->easy, CURLOPT_URL, c->url);
    curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, put_resp);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
    /* Create it once, to have a resourceVersion to start from. */
    CURL *post = curl_easy_init();
    char url[256], body[160];
    snprintf(url, sizeof url, "%s/api/v1/namespaces/" NS "/configmaps", base_url);
    snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"%s\"},\"data\":{\"t\":\"0\"}}", name);
    curl_easy_setopt(post, CURLOPT_URL, url);
    curl_easy_setopt(post, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(post, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(post, CURLOPT_WRITEFUNCTION, put_resp);
    curl_easy_setopt(post, CURLOPT_WRITEDATA, c);
    curl_easy_perform(post);
    curl_easy_cleanup(post);
    c->rv = parse_rv(c->resp);
}

static void putter_prepare(putter *c)
{
    c->sent_at = now_ns();
    snprintf(c->body, sizeof c->body,
             "{\"metadata\":{\"name\":\"%s\",\"resourceVersion\":\"%llu\"},\"data\":{\"t\":\"%lld\"}}",
             c->name, c->rv, c->sent_at);
    c->resp_len = 0;
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body);
}

/* Returns false on a failed or conflicting PUT. */
static bool putter_done(putter *c)
{
    long code = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
    c->rv = parse_rv(c->resp);
    return code == 200 && c->rv != 0;
}

static void putter_free(putter *c)
{
    curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
}

static void bench_put_serial(double seconds)
{
    putter c;
    putter_init(&c, "serial");
    samples lat = {0};
    long ok = 0, bad = 0;
    long long start = now_ns(), end = start + (long long)(seconds * 1e9);
    while (now_ns() < end) {
        putter_prepare(&c);
        CURLcode rc = curl_easy_perform(c.easy);
        if (rc == CURLE_OK && putter_done(&c)) {
            ok++;
            add_sample(&lat, now_ns() - c.sent_at);
        } else {
            bad++;
        }
    }
    double el = (double)(now_ns() - start) / 1e9;
    qsort(lat.v, lat.n, sizeof *lat.v, cmp_ll);
    printf("PUT with resourceVersion, 1 keep-alive connection: %ld in %.2fs = %.0f req/s "
           "(latency p50 %.0f us, p99 %.0f us, %ld failed)\n",
           ok, el, (double)ok / el, pct(lat.v, lat.n, 0.5), pct(lat.v, lat.n, 0.99), bad);
    free(lat.v);
    putter_free(&c);
}

static void bench_put_parallel(double seconds)
{
    CURLM *m = curl_multi_init();
    putter cs[PARALLEL];
    for (int i = 0; i < PARALLEL; i++) {
        char name[32];
        snprintf(name, sizeof name, "par-%d", i);
        putter_init(&cs[i], name);
        putter_prepare(&cs[i]);
        curl_multi_add_handle(m, cs[i].easy);
    }
    samples lat = {0};
    long ok = 0, bad = 0;
    long long start = now_ns(), end = start + (long long)(seconds * 1e9);
    int running = PARALLEL;
    bool stopping = false;
    while (running > 0) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            putter *c;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            if (msg->data.result == CURLE_OK && putter_done(c)) {
                ok++;
                add_sample(&lat, now_ns() - c->sent_at);
            } else {
                bad++;
            }
            curl_multi_remove_handle(m, c->easy);
            stopping = now_ns() >= end;
            if (!stopping) {
                putter_prepare(c);
                curl_multi_add_handle(m, c->easy);
                running++;
            }
        }
        if (running > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double el = (double)(now_ns() - start) / 1e9;
    qsort(lat.v, lat.n, sizeof *lat.v, cmp_ll);
    printf("PUT with resourceVersion, %d connections: %ld in %.2fs = %.0f req/s "
           "(latency p50 %.0f us, p99 %.0f us, %ld failed)\n",
           PARALLEL, ok, el, (double)ok / el, pct(lat.v, lat.n, 0.5), pct(lat.v, lat.n, 0.99),
           bad);
    free(lat.v);
    for (int i = 0; i < PARALLEL; i++)
        putter_free(&cs[i]);
    curl_multi_cleanup(m);
}

/* ---- fan-out ----------------------------------------------------------- */

typedef struct watcher {
    CURL *easy;
    char partial[8192];
    size_t len;
    long events;
    samples *lat;
} watcher;

static void on_line(watcher *w, const char *line, size_t n, long long now)
{
    const char *t = memmem(line, n, "\"t\":\"", 5);
    if (!t)
        return;
    long long sent = strtoll(t + 5, NULL, 10);
    if (sent > 0) {
        w->events++;
        add_sample(w->lat, now - sent);
    }
}

static size_t watch_data(char *p, size_t size, size_t n, void *ud)
{
    watcher *w = ud;
    size_t len = size * n;
    long long now = now_ns();
    size_t i = 0;
    while (i < len) {
        char *nl = memchr(p + i, '\n', len - i);
        size_t chunk = nl ? (size_t)(nl - (p + i)) : len - i;
        if (w->len + chunk < sizeof w->partial) {
            memcpy(w->partial + w->len, p + i, chunk);
            w->len += chunk;
        }
        i += chunk;
        if (nl) {
            on_line(w, w->partial, w->len, now);
            w->len = 0;
            i++;
        }
    }
    return len;
}

static void bench_fanout(double seconds, int paced_rate)
{
    CURLM *m = curl_multi_init();
    putter writer;
    char name[32];
    snprintf(name, sizeof name, "fan-%d", paced_rate);
    putter_init(&writer, name);
    samples lat = {0};
    watcher *ws = calloc(WATCHERS, sizeof *ws);
    char url[512];
    snprintf(url, sizeof url,
             "%s/api/v1/namespaces/" NS "/configmaps?watch=1&resourceVersion=%llu"
             "&fieldSelector=metadata.name%%3D%s",
             base_url, writer.rv, name);
    for (int i = 0; i < WATCHERS; i++) {
        ws[i].lat = &lat;
        ws[i].easy = curl_easy_init();
        curl_easy_setopt(ws[i].easy, CURLOPT_URL, url);
        curl_easy_setopt(ws[i].easy, CURLOPT_WRITEFUNCTION, watch_data);
        curl_easy_setopt(ws[i].easy, CURLOPT_WRITEDATA, &ws[i]);
        curl_multi_add_handle(m, ws[i].easy);
    }
    /* Let every watch connect before writing, so all see every event. */
    int running;
    long long connect_deadline = now_ns() + 30000000000LL;
    for (;;) {
        curl_multi_perform(m, &running);
        int ready = 0;
        for (int i = 0; i < WATCHERS; i++) {
            long code = 0;
            curl_easy_getinfo(ws[i].easy, CURLINFO_RESPONSE_CODE, &code);
            ready += code == 200;
        }
        if (ready == WATCHERS)
            break;
        if (running < WATCHERS || now_ns() > connect_deadline) {
            fprintf(stderr, "kube_lite_bench: only %d of %d watches connected\n", ready, WATCHERS);
            exit(1);
        }
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    long writes = 0;
    long long start = now_ns(), end = start + (long long)(seconds * 1e9);
    long long interval = paced_rate ? 1000000000LL / paced_rate : 0;
    long long next_write = start;
    bool in_flight = false;
    long long last_event = start;
    long long drain_deadline = 0;
    for (;;) {
        long long now = now_ns();
        if (!in_flight && now < end && now >= next_write) {
            putter_prepare(&writer);
            curl_multi_add_handle(m, writer.easy);
            in_flight = true;
            next_write = paced_rate ? next_write + interval : now;
        }
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == writer.easy) {
                if (msg->data.result == CURLE_OK && putter_done(&writer))
                    writes++;
                curl_multi_remove_handle(m, writer.easy);
                in_flight = false;
            }
        }
        long total = 0;
        for (int i = 0; i < WATCHERS; i++)
            total += ws[i].events;
        if (total > 0 && (size_t)total == lat.n)
            last_event = now_ns();
        if (now >= end && !in_flight) {
            if (total >= writes * WATCHERS)
                break;
            if (!drain_deadline)
                drain_deadline = now + 10000000000LL;
            if (now > drain_deadline)
                break;
        }
        long long wait_ns = paced_rate && now < end ? next_write - now_ns() : 0;
        int wait_ms = wait_ns > 1000000 ? (int)(wait_ns / 1000000) : 0;
        if (in_flight || now >= end || wait_ms > 0)
            curl_multi_poll(m, NULL, 0, in_flight || now >= end ? 50 : wait_ms, NULL);
    }
    long total = 0;
    for (int i = 0; i < WATCHERS; i++)
        total += ws[i].events;
    double el = (double)(last_event - start) / 1e9;
    qsort(lat.v, lat.n, sizeof *lat.v, cmp_ll);
    if (paced_rate)
        printf("watch fan-out to %d watchers, writer paced at %d PUT/s: %ld writes, %ld of %ld "
               "events delivered, %.0f events/s; delivery latency p50 %.0f us, p99 %.0f us, "
               "max %.0f us\n",
               WATCHERS, paced_rate, writes, total, writes * WATCHERS, (double)total / el,
               pct(lat.v, lat.n, 0.5), pct(lat.v, lat.n, 0.99), pct(lat.v, lat.n, 1.0));
    else
        printf("watch fan-out to %d watchers, writer unpaced: %ld writes = %.0f PUT/s, %ld of %ld "
               "events delivered in %.2fs = %.0f events/s; latency p50 %.0f us, p99 %.0f us\n",
               WATCHERS, writes, (double)writes / seconds, total, writes * WATCHERS, el,
               (double)total / el, pct(lat.v, lat.n, 0.5), pct(lat.v, lat.n, 0.99));
    for (int i = 0; i < WATCHERS; i++) {
        curl_multi_remove_handle(m, ws[i].easy);
        curl_easy_cleanup(ws[i].easy);
    }
    free(ws);
    free(lat.v);
    putter_free(&writer);
    curl_multi_cleanup(m);
}

int main(int argc, char **argv)
{
    double seconds = 3;
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
            url = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--url URL] [--seconds S]\n", argv[0]);
            return 2;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    kubelite *k = NULL;
    if (!url) {
        k = kubelite_start(NULL);
        if (!k)
            return 1;
        url = kubelite_url(k);
    }
    base_url = url;
    printf("kube-lite benchmark: server %s, %ld online CPUs, %.1fs per phase\n", url,
           sysconf(_SC_NPROCESSORS_ONLN), seconds);
    fflush(stdout);
    bench_put_serial(seconds);
    fflush(stdout);
    bench_put_parallel(seconds);
    fflush(stdout);
    bench_fanout(seconds, 0);
    fflush(stdout);
    bench_fanout(seconds, PACED_WRITES_PER_SEC);
    if (k) {
        char *stats = kubelite_stats_json(k);
        if (stats && strlen(stats) < 2000)
            printf("server counters: %s\n", stats);
        free(stats);
        kubelite_free(k);
    }
    curl_global_cleanup();
    return 0;
}

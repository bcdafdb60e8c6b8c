/*
 * fake_bridge.c — a fake Core AI bridge for the Go tests on Linux.
 *
 * It implements bridge/vlmrt_coreai.h with a deterministic toy computation
 * instead of Core AI, so the Go side (internal/coreai) can check exact
 * values through the same C ABI and the same purego calls the real Swift
 * bridge receives. It also exports test hooks (vlmrt_fake_*) that are not
 * part of the ABI: a call log, failure injection, an open delay.
 *
 * Build (the Go tests do this): gcc -shared -fPIC -O1 -ffp-contract=off
 *   -I../bridge fake_bridge.c -o libvlmrt_coreai.so -lpthread
 * -DFAKE_OMIT_RESET leaves vlmrt_coreai_reset out (missing-symbol test);
 * -DFAKE_ABI_VERSION=n reports another ABI version.
 *
 * The toy model (sizes below; see fakeLogits in the Go tests):
 *   encode_image: image_embeds[slot][j] = patches[4*slot][j] and
 *     deepstack[k][slot][j] = patches[4*slot+1+k][j] (bits copied: the four
 *     patches of the slot's 2x2 merge block).
 *   step(id, pos): e = id % 97 for a text id; for id = V+slot,
 *     e = image_embeds[slot][0] + deepstack[0][slot][0] + deepstack[1][slot][0]
 *     + deepstack[2][slot][0]. Rotary (t,h,w) by DESIGN.md §2.6 from
 *     (id, pos) and the rope shift; r = t + 2h + 4w.
 *     logits[i] = e + 0.5 r + 0.25 i + 0.125 hist, where hist is the sum of
 *     e over the tokens already in the cache (the "KV state").
 *   Every value is a small dyadic rational, so float32 is exact.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "vlmrt_coreai.h"

#ifndef FAKE_ABI_VERSION
#define FAKE_ABI_VERSION VLMRT_COREAI_ABI_VERSION
#endif

/* -DFAKE_VOCAB_SIZE=151936 gives the toy model a real tokenizer's id range,
   so a whole chat-template prompt can run through it. */
#ifndef FAKE_VOCAB_SIZE
#define FAKE_VOCAB_SIZE 1000
#endif

enum {
    FAKE_VOCAB = FAKE_VOCAB_SIZE,
    FAKE_HIDDEN = 8,
    FAKE_IMAGE_TOKENS = 196,
    FAKE_GRID_SIDE = 14,
    FAKE_DEEPSTACK = 3,
    FAKE_PATCH_COUNT = 784,
    FAKE_PATCH_DIM = 1536,
    FAKE_DEFAULT_MAX_CONTEXT = 1024,
    FAKE_TEXT_ONLY_SHIFT_START = 1 << 30,
};

#define FAKE_MAGIC 0x766c6d72u /* "vlmr": catches stale or foreign handles */

struct vlmrt_coreai_model {
    unsigned magic;
    int id;
    int has_vision;
    int max_context;
    uint16_t image_embeds[FAKE_IMAGE_TOKENS * FAKE_HIDDEN];
    uint16_t deepstack[FAKE_DEEPSTACK * FAKE_IMAGE_TOKENS * FAKE_HIDDEN];
    int32_t shift_start, shift_amount;
    int32_t len;  /* tokens in the "KV cache" */
    float hist;   /* sum of e over them */
};

/* ---- test hooks: shared state, guarded by mu ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char call_log[1 << 16];
static size_t call_log_len;
static int next_id = 1;
static int live;
static int open_delay_ms;
static int max_context = FAKE_DEFAULT_MAX_CONTEXT;

#define MAX_FAILS 16
static struct {
    char fn[64];
    int32_t status;
    char msg[4096];
} fails[MAX_FAILS];
static int nfails;

static void logf_(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = sizeof line - 1;
    pthread_mutex_lock(&mu);
    if (call_log_len + (size_t)n + 2 < sizeof call_log) {
        memcpy(call_log + call_log_len, line, (size_t)n);
        call_log_len += (size_t)n;
        call_log[call_log_len++] = '\n';
        call_log[call_log_len] = 0;
    }
    pthread_mutex_unlock(&mu);
}

/* Makes every later call of fn fail with status and msg; fn "" clears all. */
void vlmrt_fake_fail(const char *fn, int32_t status, const char *msg) {
    pthread_mutex_lock(&mu);
    if (fn[0] == 0) {
        nfails = 0;
    } else if (nfails < MAX_FAILS) {
        snprintf(fails[nfails].fn, sizeof fails[nfails].fn, "%s", fn);
        snprintf(fails[nfails].msg, sizeof fails[nfails].msg, "%s", msg);
        fails[nfails].status = status;
        nfails++;
    }
    pthread_mutex_unlock(&mu);
}

/* Copies the call log (one line per call) into buf; returns its full length. */
size_t vlmrt_fake_calls(char *buf, size_t len) {
    pthread_mutex_lock(&mu);
    size_t n = call_log_len;
    if (len > 0) {
        size_t c = n < len - 1 ? n : len - 1;
        memcpy(buf, call_log, c);
        buf[c] = 0;
    }
    pthread_mutex_unlock(&mu);
    return n;
}

void vlmrt_fake_set_open_delay_ms(int32_t ms) {
    pthread_mutex_lock(&mu);
    open_delay_ms = ms;
    pthread_mutex_unlock(&mu);
}

/* Applies to handles opened afterwards. */
void vlmrt_fake_set_max_context(int32_t n) {
    pthread_mutex_lock(&mu);
    max_context = n;
    pthread_mutex_unlock(&mu);
}

int32_t vlmrt_fake_live_handles(void) {
    pthread_mutex_lock(&mu);
    int n = live;
    pthread_mutex_unlock(&mu);
    return n;
}

/* ---- helpers ---- */

static int32_t fail(int32_t status, char *err, size_t errlen, const char *fmt, ...) {
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* Returns the injected failure status for fn (0 = none), writing its message. */
static int32_t injected(const char *fn, char *err, size_t errlen) {
    int32_t status = 0;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nfails; i++) {
        if (strcmp(fails[i].fn, fn) == 0) {
            status = fail(fails[i].status, err, errlen, "%s", fails[i].msg);
            break;
        }
    }
    pthread_mutex_unlock(&mu);
    return status;
}

#define CHECK_HANDLE(h)                                                          \
    do {                                                                         \
        if ((h) == NULL || (h)->magic != FAKE_MAGIC)                             \
            return fail(VLMRT_COREAI_INVALID, err, errlen, "%s: invalid handle", \
                        __func__);                                               \
    } while (0)

static float half_to_float(uint16_t h) {
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0) {
        v = (float)mant / 16777216.0f; /* mant * 2^-24 */
    } else if (exp == 31) {
        v = mant ? __builtin_nanf("") : __builtin_inff();
    } else {
        v = (1.0f + (float)mant / 1024.0f);
        for (int e = exp - 15; e > 0; e--) v *= 2.0f;
        for (int e = exp - 15; e < 0; e++) v *= 0.5f;
    }
    return sign ? -v : v;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void text_only(vlmrt_coreai_model *h) {
    memset(h->image_embeds, 0, sizeof h->image_embeds);
    memset(h->deepstack, 0, sizeof h->deepstack);
    h->shift_start = FAKE_TEXT_ONLY_SHIFT_START;
    h->shift_amount = 0;
}

/* ---- the ABI ---- */

int32_t vlmrt_coreai_version(void) { return FAKE_ABI_VERSION; }

int32_t vlmrt_coreai_open(const char *decoder_bundle, const char *vision_bundle,
                          vlmrt_coreai_model **out, char *err, size_t errlen) {
    logf_("open %s %s", decoder_bundle, vision_bundle[0] ? vision_bundle : "-");
    int32_t st = injected("open", err, errlen);
    if (st) return st;
    if (out == NULL) return fail(VLMRT_COREAI_INVALID, err, errlen, "open: out is NULL");
    *out = NULL;
    pthread_mutex_lock(&mu);
    int delay = open_delay_ms, maxctx = max_context;
    pthread_mutex_unlock(&mu);
    if (delay > 0) {
        struct timespec ts = {delay / 1000, (long)(delay % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    if (!is_dir(decoder_bundle))
        return fail(VLMRT_COREAI_ERROR, err, errlen, "decoder bundle %s: not a directory", decoder_bundle);
    if (vision_bundle[0] && !is_dir(vision_bundle))
        return fail(VLMRT_COREAI_ERROR, err, errlen, "vision bundle %s: not a directory", vision_bundle);
    vlmrt_coreai_model *h = calloc(1, sizeof *h);
    if (h == NULL) return fail(VLMRT_COREAI_ERROR, err, errlen, "out of memory");
    h->magic = FAKE_MAGIC;
    h->has_vision = vision_bundle[0] != 0;
    h->max_context = maxctx;
    text_only(h);
    pthread_mutex_lock(&mu);
    h->id = next_id++;
    live++;
    pthread_mutex_unlock(&mu);
    *out = h;
    return VLMRT_COREAI_OK;
}

int32_t vlmrt_coreai_info(vlmrt_coreai_model *h, vlmrt_coreai_info_t *info, char *err, size_t errlen) {
    CHECK_HANDLE(h);
    logf_("info h=%d", h->id);
    int32_t st = injected("info", err, errlen);
    if (st) return st;
    info->vocab_size = FAKE_VOCAB;
    info->hidden_size = FAKE_HIDDEN;
    info->image_tokens = FAKE_IMAGE_TOKENS;
    info->deepstack_count = FAKE_DEEPSTACK;
    info->max_context = h->max_context;
    info->patch_count = h->has_vision ? FAKE_PATCH_COUNT : 0;
    info->patch_dim = h->has_vision ? FAKE_PATCH_DIM : 0;
    info->reserved = 0;
    return VLMRT_COREAI_OK;
}

int32_t vlmrt_coreai_encode_image(vlmrt_coreai_model *h, const uint16_t *patches, size_t n,
                                  char *err, size_t errlen) {
    CHECK_HANDLE(h);
    logf_("encode_image h=%d n=%zu", h->id, n);
    int32_t st = injected("encode_image", err, errlen);
    if (st) return st;
    if (!h->has_vision) return fail(VLMRT_COREAI_ERROR, err, errlen, "no vision bundle was opened");
    if (n != (size_t)FAKE_PATCH_COUNT * FAKE_PATCH_DIM)
        return fail(VLMRT_COREAI_INVALID, err, errlen, "patches: %zu values, want %d", n,
                    FAKE_PATCH_COUNT * FAKE_PATCH_DIM);
    for (int slot = 0; slot < FAKE_IMAGE_TOKENS; slot++) {
        const uint16_t *block = patches + (size_t)4 * slot * FAKE_PATCH_DIM;
        memcpy(h->image_embeds + slot * FAKE_HIDDEN, block, FAKE_HIDDEN * sizeof(uint16_t));
        for (int k = 0; k < FAKE_DEEPSTACK; k++)
            memcpy(h->deepstack + (k * FAKE_IMAGE_TOKENS + slot) * FAKE_HIDDEN,
                   block + (size_t)(1 + k) * FAKE_PATCH_DIM, FAKE_HIDDEN * sizeof(uint16_t));
    }
    return VLMRT_COREAI_OK;
}

int32_t vlmrt_coreai_set_static(vlmrt_coreai_model *h, const uint16_t *image_embeds,
                                const uint16_t *deepstack, int32_t start, int32_t amount,
                                char *err, size_t errlen) {
    CHECK_HANDLE(h);
    logf_("set_static h=%d embeds=%d start=%d amount=%d", h->id, image_embeds != NULL, start, amount);
    int32_t st = injected("set_static", err, errlen);
    if (st) return st;
    if ((image_embeds == NULL) != (deepstack == NULL))
        return fail(VLMRT_COREAI_INVALID, err, errlen, "image_embeds and deepstack: give both or neither");
    if (image_embeds != NULL) {
        memcpy(h->image_embeds, image_embeds, sizeof h->image_embeds);
        memcpy(h->deepstack, deepstack, sizeof h->deepstack);
    }
    h->shift_start = start;
    h->shift_amount = amount;
    return VLMRT_COREAI_OK;
}

int32_t vlmrt_coreai_get_static(vlmrt_coreai_model *h, uint16_t *image_embeds, uint16_t *deepstack,
                                int32_t *start, int32_t *amount, char *err, size_t errlen) {
    CHECK_HANDLE(h);
    logf_("get_static h=%d", h->id);
    int32_t st = injected("get_static", err, errlen);
    if (st) return st;
    if (image_embeds != NULL) memcpy(image_embeds, h->image_embeds, sizeof h->image_embeds);
    if (deepstack != NULL) memcpy(deepstack, h->deepstack, sizeof h->deepstack);
    if (start != NULL) *start = h->shift_start;
    if (amount != NULL) *amount = h->shift_amount;
    return VLMRT_COREAI_OK;
}

int32_t vlmrt_coreai_step(vlmrt_coreai_model *h, int32_t id, int32_t pos, float *logits, size_t vocab,
                          char *err, size_t errlen) {
    CHECK_HANDLE(h);
    logf_("step h=%d id=%d pos=%d", h->id, id, pos);
    int32_t st = injected("step", err, errlen);
    if (st) return st;
    if (vocab != FAKE_VOCAB) return fail(VLMRT_COREAI_INVALID, err, errlen, "logits: %zu floats, want %d", vocab, FAKE_VOCAB);
    if (pos != h->len) return fail(VLMRT_COREAI_INVALID, err, errlen, "position %d but the cache holds %d tokens", pos, h->len);
    if (pos >= h->max_context) return fail(VLMRT_COREAI_ERROR, err, errlen, "KV cache full (%d)", h->max_context);
    if (id < 0 || id >= FAKE_VOCAB + FAKE_IMAGE_TOKENS) return fail(VLMRT_COREAI_INVALID, err, errlen, "token id %d out of range", id);
    float e;
    int32_t t, hh, w;
    if (id < FAKE_VOCAB) {
        e = (float)(id % 97);
        int32_t p = pos >= h->shift_start ? pos - h->shift_amount : pos;
        t = hh = w = p;
    } else {
        int slot = id - FAKE_VOCAB;
        e = half_to_float(h->image_embeds[slot * FAKE_HIDDEN]);
        for (int k = 0; k < FAKE_DEEPSTACK; k++)
            e += half_to_float(h->deepstack[(k * FAKE_IMAGE_TOKENS + slot) * FAKE_HIDDEN]);
        t = pos - slot;
        hh = t + slot / FAKE_GRID_SIDE;
        w = t + slot % FAKE_GRID_SIDE;
    }
    float r = (float)(t + 2 * hh + 4 * w);
    for (int i = 0; i < FAKE_VOCAB; i++)
        logits[i] = e + 0.5f * r + 0.25f * (float)i + 0.125f * h->hist;
    h->hist += e;
    h->len++;
    return VLMRT_COREAI_OK;
}

#ifndef FAKE_OMIT_RESET
int32_t vlmrt_coreai_reset(vlmrt_coreai_model *h, char *err, size_t errlen) {
    CHECK_HANDLE(h);
    logf_("reset h=%d", h->id);
    int32_t st = injected("reset", err, errlen);
    if (st) return st;
    h->len = 0;
    h->hist = 0;
    text_only(h);
    return VLMRT_COREAI_OK;
}
#endif

int32_t vlmrt_coreai_close(vlmrt_coreai_model *h, char *err, size_t errlen) {
    CHECK_HANDLE(h);
    logf_("close h=%d", h->id);
    int32_t st = injected("close", err, errlen);
    h->magic = 0;
    free(h);
    pthread_mutex_lock(&mu);
    live--;
    pthread_mutex_unlock(&mu);
    return st; /* the handle is gone either way, as the ABI says */
}

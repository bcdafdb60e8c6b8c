/*
 * vlmrt_coreai.h — the C ABI between vlmrt (Go, through purego) and a bridge
 * library that drives Apple's Core AI (macOS 27 / iOS 27) on the seed's
 * decoder/vision .aimodel bundle pair (DESIGN.md §2–5).
 *
 * Implementations: bridge/VLMRTCoreAI.swift (the real one, built on a Mac
 * into libvlmrt_coreai.dylib) and fake/fake_bridge.c (a deterministic toy the
 * Go tests build with gcc on Linux). Both must follow this file exactly.
 *
 * Conventions
 *   - Opaque handles only: no Swift or Objective-C type crosses the ABI.
 *   - Every function except vlmrt_coreai_version returns a status
 *     (VLMRT_COREAI_OK or an error code) and, on error, writes a
 *     NUL-terminated UTF-8 message of at most errlen bytes (terminator
 *     included, truncated if longer) into err. err may be NULL only when
 *     errlen is 0.
 *   - Float16 tensors are passed as raw IEEE half bit patterns (uint16_t),
 *     row-major, exactly the dtype and layout of the graph inputs.
 *
 * Ownership (who frees what)
 *   - The bridge owns everything behind a handle (models, functions, static
 *     input buffers, KV state) and frees it in vlmrt_coreai_close, which the
 *     caller calls exactly once per handle returned by vlmrt_coreai_open.
 *   - The caller owns every pointer it passes (paths, patches, embeddings,
 *     logits, the info struct, the error buffer). The bridge may read or
 *     write them only until the call returns; whatever it needs later
 *     (paths, static inputs) it copies.
 *   - No pointer to bridge memory is ever returned except the handle.
 *
 * Threading
 *   - One handle is not thread-safe: the caller serializes calls on it.
 *   - Different handles may be used concurrently from different threads.
 *   - Calls may arrive on any OS thread (Go does not pin goroutines), so the
 *     bridge must not rely on thread-local state between calls.
 */
#ifndef VLMRT_COREAI_H
#define VLMRT_COREAI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change; the Go side refuses other versions. */
#define VLMRT_COREAI_ABI_VERSION 1

/* Status codes. */
#define VLMRT_COREAI_OK 0
#define VLMRT_COREAI_ERROR 1       /* Core AI (or the bundle) failed */
#define VLMRT_COREAI_INVALID 2     /* bad argument or handle */
#define VLMRT_COREAI_UNAVAILABLE 3 /* Core AI is not available on this OS */

typedef struct vlmrt_coreai_model vlmrt_coreai_model; /* opaque */

/* Sizes of an opened pair. Eight int32 fields, no padding: the Go side
 * mirrors this layout field for field. */
typedef struct vlmrt_coreai_info {
    int32_t vocab_size;      /* V: logits width and the first extension id */
    int32_t hidden_size;     /* width of an image_embeds / deepstack row */
    int32_t image_tokens;    /* slots per image: 196 for the fixed grid */
    int32_t deepstack_count; /* DeepStack features: 3 */
    int32_t max_context;     /* KV capacity in tokens */
    int32_t patch_count;     /* patches rows: 784 (0 without a vision bundle) */
    int32_t patch_dim;       /* patches columns: 1536 (0 without a vision bundle) */
    int32_t reserved;        /* 0 */
} vlmrt_coreai_info_t;

/* The ABI version the library implements (VLMRT_COREAI_ABI_VERSION). */
int32_t vlmrt_coreai_version(void);

/* Loads the decoder LanguageBundle directory and the vision bundle directory
 * (vision_bundle may be "" for text-only use). On success *out is a new
 * handle with zero KV state and text-only static inputs (zero embeddings,
 * rope_shift_start = 1<<30, rope_shift_amount = 0). */
int32_t vlmrt_coreai_open(const char *decoder_bundle, const char *vision_bundle,
                          vlmrt_coreai_model **out, char *err, size_t errlen);

/* Fills *info. */
int32_t vlmrt_coreai_info(vlmrt_coreai_model *h, vlmrt_coreai_info_t *info,
                          char *err, size_t errlen);

/* Runs the vision graph on patches [patch_count, patch_dim] f16 (n values)
 * and writes its image_embeds [image_tokens, hidden] and deepstack_embeds
 * [deepstack_count*image_tokens, hidden] straight into the decoder's static
 * inputs. The rope shift is left as it is: the host sets it. */
int32_t vlmrt_coreai_encode_image(vlmrt_coreai_model *h, const uint16_t *patches_f16,
                                  size_t n, char *err, size_t errlen);

/* Writes the four static decoder inputs. image_embeds holds
 * image_tokens*hidden values, deepstack deepstack_count*image_tokens*hidden;
 * both NULL keeps the current embeddings (such as encode_image wrote) and
 * sets only the rope shift. */
int32_t vlmrt_coreai_set_static(vlmrt_coreai_model *h, const uint16_t *image_embeds,
                                const uint16_t *deepstack, int32_t rope_shift_start,
                                int32_t rope_shift_amount, char *err, size_t errlen);

/* Reads the four static decoder inputs back (buffers sized as for
 * set_static; either may be NULL to skip it). */
int32_t vlmrt_coreai_get_static(vlmrt_coreai_model *h, uint16_t *image_embeds,
                                uint16_t *deepstack, int32_t *rope_shift_start,
                                int32_t *rope_shift_amount, char *err, size_t errlen);

/* One S=1 step of the decode graph: input_ids [1,1] = token_id at KV slot
 * position (which must equal the number of tokens already in the cache),
 * appending its keys and values; logits [1,1,V] are written to logits_out
 * (vocab floats, vocab == V). Extension ids V+slot select image_embeds rows. */
int32_t vlmrt_coreai_step(vlmrt_coreai_model *h, int32_t token_id, int32_t position,
                          float *logits_out, size_t vocab, char *err, size_t errlen);

/* Empties the KV cache and restores text-only static inputs. */
int32_t vlmrt_coreai_reset(vlmrt_coreai_model *h, char *err, size_t errlen);

/* Frees the handle and everything behind it. h is invalid afterwards, even
 * when an error is reported. */
int32_t vlmrt_coreai_close(vlmrt_coreai_model *h, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* VLMRT_COREAI_H */

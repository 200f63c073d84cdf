/* StableDiffusion.Native shim: facts about the compiled runtime that the managed layer checks before it
 * trusts its generated bindings, and a backend loader that works wherever the runtime was copied. */
#ifndef SDNET_SHIM_H
#define SDNET_SHIM_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define SDNET_API __declspec(dllexport)
#else
#define SDNET_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a function below changes shape. */
#define SDNET_SHIM_API_VERSION 4

typedef struct {
    const char* name;  /* "struct" for sizeof, "struct.field" for offsetof */
    int64_t value;
} sdnet_abi_fact_t;

SDNET_API int32_t sdnet_shim_api_version(void);
/* The stable-diffusion.cpp and ggml commits this runtime was built from (full hashes). */
SDNET_API const char* sdnet_sd_commit(void);
SDNET_API const char* sdnet_ggml_commit(void);
SDNET_API int32_t sdnet_abi_fact_count(void);
SDNET_API const sdnet_abi_fact_t* sdnet_abi_facts(void);

/* Loads the ggml backend modules found in dir (our prefixed file names): for each backend kind the
 * best-scoring variant, as ggml_backend_load_all_from_path would for stock names. Idempotent: kinds
 * already registered are skipped. Returns the number of modules loaded by this call, or -1 when dir is
 * not a readable directory. */
SDNET_API int32_t sdnet_load_backends(const char* dir);

/* Tab-separated lines describing what was loaded and registered:
 *   module <kind> <file> <score> <status>     one per candidate file looked at
 *   backend <reg name> <device count>
 *   device <name> <description> <type> <free bytes> <total bytes>   (0 and 0 for RPC devices: asking costs a round trip
 *                                                                   to a server that may be gone, which aborts)
 *   feature <name> <value>                    CPU features the chosen CPU module was built for
 *   cpufeature <name> <0|1>                   CPU features our loader checks itself (avx512_fp16)
 *   log <ggml level> <text>                   what ggml logged while loading the modules
 * Writes at most size-1 bytes plus a terminator; returns the length needed, excluding the terminator. */
SDNET_API size_t sdnet_backend_report(char* buffer, size_t size);

/* CPU features our loader checks itself because ggml's variant scores do not (bit set = present and enabled
 * by the OS). */
#define SDNET_CPU_AVX512_FP16 1

/* The SDNET_CPU_* features of this machine's CPU (0 on other architectures). */
SDNET_API uint32_t sdnet_cpu_features(void);

/* The score our loader gives a CPU variant module: ggml's own score (module_score, from the module's
 * ggml_backend_score) adjusted for the features ggml does not check. A module named *_fp16 needs AVX512-FP16:
 * without it (in features) it scores 0, never chosen; with it, a supported module gains 1<<12, above every
 * stock feature bit, so it wins over the same feature set without FP16. Other modules keep their score. */
SDNET_API int32_t sdnet_adjust_cpu_score(const char* module_name, int32_t module_score, uint32_t features);

/* Registers the ggml RPC server at endpoint ("host:port") in ggml's process-wide registry, the way upstream does for
 * sd_ctx_params_t.rpc_servers (which then finds it registered), and returns how many devices it serves: 0 when it
 * does not answer or the runtime has no RPC backend. Its devices appear in sdnet_backend_report with the endpoint as
 * their description, so a caller can name its own server's device instead of leaving upstream to pick the first
 * GPU-type device of whichever server was registered first. An endpoint already registered is not contacted again. */
SDNET_API int32_t sdnet_rpc_add_server(const char* endpoint);

/* Frees a string that upstream allocated with malloc and handed to the caller (sd_ctx_params_to_str,
 * sd_img_gen_params_to_str, sd_sample_params_to_str, ...). The caller's C runtime may not be the one upstream
 * was linked with (Windows), so only this library's free may release it. NULL is ignored. */
SDNET_API void sdnet_free_string(char* text);

#ifdef __cplusplus
}
#endif

#endif

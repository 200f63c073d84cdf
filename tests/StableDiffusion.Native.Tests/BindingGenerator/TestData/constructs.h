/* Test input for build/BindingGenerator: one of every construct stable-diffusion.h uses (and the array forms it
 * may grow), so the generator is tested without the upstream checkout. Values in comments are x86_64 SysV. */
#ifndef CONSTRUCTS_H
#define CONSTRUCTS_H

#if defined(_WIN32)
#define CT_API __declspec(dllexport)
#else
#define CT_API __attribute__((visibility("default")))
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CT_VERSION 3
#define CT_BIG 0x100000000
#define CT_NEGATIVE (-2)
#define CT_NOT_A_NUMBER "text"
#define CT_EXPRESSION (1 + 2)

enum ct_color_t {
    CT_RED,
    CT_GREEN,
    CT_BLUE = 5,
    CT_COLOR_COUNT,
};

enum ct_format_t {
    CT_FORMAT_AUTO = -1,
    CT_FORMAT_A,
    CT_FORMAT_B,
    CT_FORMAT_COUNT
};

extern CT_API const char* ct_color_names[];

/* sizeof 16, big at 8 */
typedef struct {
    bool flag;
    int64_t big;
} ct_bool_i64_t;

/* sizeof 16 */
typedef struct {
    uint32_t width;
    uint32_t height;
    uint8_t* data;
} ct_image_t;

typedef struct {
    ct_image_t image;  /* nested by value */
    float scale;
    size_t count;
    uint64_t total;
    const char* name;
    enum ct_color_t color;
    enum ct_format_t format;
    const ct_image_t* images;
    char** argv;  /* pointer to pointer */
    bool enabled;
} ct_nested_t;

/* values@0 weights@16 flags@28 images@40 sizes@72 names@88, sizeof 112 */
typedef struct {
    int values[4];
    float weights[3];
    bool flags[5];
    ct_image_t images[2];
    size_t sizes[2];
    const char* names[3];
} ct_arrays_t;

typedef struct ct_ctx_t ct_ctx_t;
struct ct_tensor;

typedef void (*ct_log_cb_t)(enum ct_color_t level, const char* text, void* data);
typedef bool (*ct_eval_cb_t)(struct ct_tensor* t, bool ask, void* user_data);

typedef struct {
    ct_log_cb_t log;
    ct_eval_cb_t eval;
    void* user_data;
} ct_callbacks_t;

struct ct_tagged {
    int a;
    double b;
};

CT_API ct_ctx_t* ct_new(const ct_nested_t* params);
CT_API void ct_free(ct_ctx_t* ctx);
CT_API bool ct_run(ct_ctx_t* ctx, ct_image_t input, ct_image_t** images_out, int* count_out);
CT_API int32_t ct_cores();
CT_API void ct_set_log(ct_log_cb_t cb, void* data);
CT_API void ct_set_callbacks(const ct_callbacks_t* callbacks, struct ct_tagged tagged);
CT_API uint64_t ct_hash(const uint8_t* bytes, size_t length, int64_t seed);
CT_API enum ct_format_t ct_parse(const char* text);
CT_API char* ct_to_str(const ct_arrays_t* arrays);
CT_API int ct_keywords(int string, int base, int);
CT_API void ct_noargs(void);

int ct_not_exported(void);

#endif

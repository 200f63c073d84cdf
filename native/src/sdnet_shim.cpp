#include "sdnet_shim.h"

#include "ggml-backend.h"
#include "ggml.h"
#include "stable-diffusion.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#define SDNET_X86 1
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>
#endif

#ifndef SDNET_SD_COMMIT
#error "SDNET_SD_COMMIT must be defined by the build"
#endif

extern "C" {

int32_t sdnet_shim_api_version(void) { return SDNET_SHIM_API_VERSION; }

void sdnet_free_string(char* text) { free(text); }

uint32_t sdnet_cpu_features(void) {
    uint32_t features = 0;
#if defined(SDNET_X86)
    unsigned int a = 0, b = 0, c = 0, d = 0;
#if defined(_MSC_VER)
    int r[4];
    __cpuid(r, 0);
    unsigned int max_leaf = (unsigned int)r[0];
    __cpuid(r, 1);
    c = (unsigned int)r[2];
#else
    unsigned int max_leaf = __get_cpuid_max(0, nullptr);
    __cpuid(1, a, b, c, d);
#endif
    // The OS must save the AVX-512 state (XCR0: SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM) or the instructions fault.
    const bool osxsave = (c >> 27) & 1;
    unsigned long long xcr0 = 0;
    if (osxsave) {
#if defined(_MSC_VER)
        xcr0 = _xgetbv(0);
#else
        unsigned int lo = 0, hi = 0;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = ((unsigned long long)hi << 32) | lo;
#endif
    }
    const bool avx512_state = (xcr0 & 0xE6) == 0xE6;
    if (max_leaf >= 7 && avx512_state) {
#if defined(_MSC_VER)
        __cpuidex(r, 7, 0);
        d = (unsigned int)r[3];
#else
        __cpuid_count(7, 0, a, b, c, d);
#endif
        if ((d >> 23) & 1) features |= SDNET_CPU_AVX512_FP16;
    }
#endif
    return features;
}

int32_t sdnet_adjust_cpu_score(const char* module_name, int32_t module_score, uint32_t features) {
    const std::string name = module_name ? module_name : "";
    if (name.find("_fp16") == std::string::npos) return module_score;
    if ((features & SDNET_CPU_AVX512_FP16) == 0) return module_score > 0 ? 0 : module_score;
    return module_score > 0 ? module_score + (1 << 12) : module_score;
}
const char* sdnet_sd_commit(void) { return SDNET_SD_COMMIT; }
const char* sdnet_ggml_commit(void) { return SDNET_GGML_COMMIT; }

#define SDNET_STRUCT(s) {#s, (int64_t)sizeof(s)},
#define SDNET_FIELD(s, f) {#s "." #f, (int64_t)offsetof(s, f)},
static const sdnet_abi_fact_t g_facts[] = {
#include "sdnet_abi_facts.g.inc"
};
#undef SDNET_STRUCT
#undef SDNET_FIELD

int32_t sdnet_abi_fact_count(void) { return (int32_t)(sizeof(g_facts) / sizeof(g_facts[0])); }
const sdnet_abi_fact_t* sdnet_abi_facts(void) { return g_facts; }

}  // extern "C"

namespace {

std::mutex g_mutex;
std::string g_report;

#if defined(_WIN32)
const char kSep = '\\';
const char* kPrefix = SDNET_FILE_PREFIX "ggml-";
const char* kExt = ".dll";
#else
const char kSep = '/';
const char* kPrefix = "lib" SDNET_FILE_PREFIX "ggml-";
const char* kExt = ".so";  // ggml builds its backend modules with .so on macOS too
#endif

typedef int (*score_fn_t)(void);

// ggml logs module loading to stderr before sd.cpp routes its logger; keep those lines in the report instead
// (the managed side forwards them to its logger), so nothing of ours is printed to a host app's console.
void capture_ggml_log(enum ggml_log_level level, const char* text, void* data) {
    std::string& report = *static_cast<std::string*>(data);
    std::string line = text ? text : "";
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.empty()) return;
    for (char& c : line)
        if (c == '\t' || c == '\n') c = ' ';
    report += "log\t" + std::to_string((int)level) + "\t" + line + "\n";
}

bool list_dir(const std::string& dir, std::vector<std::string>& names) {
#if defined(_WIN32)
    std::wstring wdir;
    int n = MultiByteToWideChar(CP_UTF8, 0, dir.c_str(), -1, nullptr, 0);
    if (n <= 0) return false;
    wdir.resize(n - 1);
    MultiByteToWideChar(CP_UTF8, 0, dir.c_str(), -1, &wdir[0], n);
    WIN32_FIND_DATAW fd;
    HANDLE h = FindFirstFileW((wdir + L"\\*").c_str(), &fd);
    if (h == INVALID_HANDLE_VALUE) return false;
    do {
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) continue;
        int len = WideCharToMultiByte(CP_UTF8, 0, fd.cFileName, -1, nullptr, 0, nullptr, nullptr);
        std::string s(len > 0 ? len - 1 : 0, '\0');
        WideCharToMultiByte(CP_UTF8, 0, fd.cFileName, -1, &s[0], len, nullptr, nullptr);
        names.push_back(s);
    } while (FindNextFileW(h, &fd));
    FindClose(h);
    return true;
#else
    DIR* d = opendir(dir.c_str());
    if (!d) return false;
    while (dirent* e = readdir(d)) {
        std::string name = e->d_name;
        struct stat st;
        if (stat((dir + kSep + name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) names.push_back(name);
    }
    closedir(d);
    return true;
#endif
}

// Reads a module's ggml_backend_score without registering it (a variant for a newer CPU scores 0 and its
// code is never run).
int module_score(const std::string& path, std::string& error) {
#if defined(_WIN32)
    std::wstring w(MultiByteToWideChar(CP_UTF8, 0, path.c_str(), -1, nullptr, 0), L'\0');
    MultiByteToWideChar(CP_UTF8, 0, path.c_str(), -1, &w[0], (int)w.size());
    UINT old_mode = SetErrorMode(SEM_FAILCRITICALERRORS);
    HMODULE h = LoadLibraryW(w.c_str());
    SetErrorMode(old_mode);
    if (!h) {
        error = "LoadLibrary failed, error " + std::to_string(GetLastError());
        return -1;
    }
    auto fn = (score_fn_t)GetProcAddress(h, "ggml_backend_score");
    int s = fn ? fn() : -2;
    FreeLibrary(h);
#else
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char* e = dlerror();
        error = e ? e : "dlopen failed";
        return -1;
    }
    auto fn = (score_fn_t)dlsym(h, "ggml_backend_score");
    int s = fn ? fn() : -2;
    dlclose(h);
#endif
    return s;
}

std::string clean(std::string s) {
    for (char& c : s)
        if (c == '\t' || c == '\n' || c == '\r') c = ' ';
    return s;
}

void append_registry(std::string& out) {
    for (size_t i = 0; i < ggml_backend_reg_count(); i++) {
        ggml_backend_reg_t reg = ggml_backend_reg_get(i);
        out += "backend\t" + clean(ggml_backend_reg_name(reg)) + "\t" + std::to_string(ggml_backend_reg_dev_count(reg)) + "\n";
        auto get_features = (ggml_backend_get_features_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features");
        if (get_features) {
            for (ggml_backend_feature* f = get_features(reg); f && f->name; f++) {
                out += "feature\t" + clean(f->name) + "\t" + clean(f->value ? f->value : "") + "\n";
            }
        }
    }
    for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
        ggml_backend_dev_t dev = ggml_backend_dev_get(i);
        size_t free_mem = 0, total_mem = 0;
        // Asking an RPC device for its memory is a round trip to its server, and ggml aborts the process when that server
        // is gone: RPC devices are reported without it.
        ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
        const bool rpc = reg && strncmp(ggml_backend_reg_name(reg), "RPC", 3) == 0;
        if (!rpc) ggml_backend_dev_memory(dev, &free_mem, &total_mem);
        const char* type = "other";
        switch (ggml_backend_dev_type(dev)) {
            case GGML_BACKEND_DEVICE_TYPE_CPU: type = "cpu"; break;
            case GGML_BACKEND_DEVICE_TYPE_GPU: type = "gpu"; break;
            case GGML_BACKEND_DEVICE_TYPE_IGPU: type = "igpu"; break;
            case GGML_BACKEND_DEVICE_TYPE_ACCEL: type = "accel"; break;
            default: break;
        }
        out += "device\t" + clean(ggml_backend_dev_name(dev)) + "\t" + clean(ggml_backend_dev_description(dev)) + "\t" +
               type + "\t" + std::to_string(free_mem) + "\t" + std::to_string(total_mem) + "\n";
    }
}

}  // namespace

extern "C" int32_t sdnet_load_backends(const char* dir) {
    std::lock_guard<std::mutex> lock(g_mutex);
    std::string base = dir ? dir : "";
    while (base.size() > 1 && (base.back() == '/' || base.back() == '\\')) base.pop_back();
    std::vector<std::string> names;
    if (base.empty() || !list_dir(base, names)) return -1;

    // The order ggml_backend_load_all_from_path uses: accelerators first, CPU last.
    static const char* kinds[] = {"blas", "zendnn", "cann", "cuda", "hip", "metal", "rpc", "sycl", "vulkan",
                                  "virtgpu", "opencl", "hexagon", "musa", "openvino", "cpu"};
    std::string report;
    int32_t loaded = 0;
    ggml_log_set(capture_ggml_log, &report);
    const std::string prefix = kPrefix;
    const std::string ext = kExt;
    const uint32_t cpu_features = sdnet_cpu_features();
    report += std::string("cpufeature\tavx512_fp16\t") + ((cpu_features & SDNET_CPU_AVX512_FP16) ? "1" : "0") + "\n";
    for (const char* kind : kinds) {
        if (ggml_backend_reg_by_name(kind) != nullptr) {
            report += std::string("chosen\t") + kind + "\t-\t0\talready-registered\n";
            continue;
        }
        const std::string stem = prefix + kind;
        std::string best;
        int best_score = 0;
        std::string plain;  // <prefix><kind><ext>: a module without variants
        for (const std::string& name : names) {
            if (name.size() < ext.size() || name.compare(name.size() - ext.size(), ext.size(), ext) != 0) continue;
            const bool is_plain = name == stem + ext;
            const bool is_variant = name.compare(0, stem.size() + 1, stem + "-") == 0;
            if (!is_plain && !is_variant) continue;
            const std::string path = base + kSep + name;
            std::string error;
            int raw = module_score(path, error);
            int score = std::string(kind) == "cpu" ? sdnet_adjust_cpu_score(name.c_str(), raw, cpu_features) : raw;
            std::string status = score > 0 ? "candidate" : score == 0 ? "unsupported" : score == -2 ? "no-score" : "load-failed: " + clean(error);
            // Say why our loader moved a score: the FP16 requirement it checks itself.
            if (score != raw) status += score > raw ? " (+avx512_fp16)" : " (needs avx512_fp16)";
            report += std::string("module\t") + kind + "\t" + name + "\t" + std::to_string(score) + "\t" + status + "\n";
            if (is_plain && score != -1) plain = path;
            if (score > best_score) {
                best_score = score;
                best = path;
            }
        }
        if (best.empty()) best = plain;
        if (best.empty()) continue;
        ggml_backend_reg_t reg = ggml_backend_load(best.c_str());
        const std::string file = best.substr(base.size() + 1);
        report += std::string("chosen\t") + kind + "\t" + file + "\t" + std::to_string(best_score) + "\t" +
                  (reg ? "registered" : "failed") + "\n";
        if (reg) loaded++;
    }
    ggml_log_set(nullptr, nullptr);
    g_report = report;
    return loaded;
}

extern "C" int32_t sdnet_rpc_add_server(const char* endpoint) {
    if (!endpoint || !*endpoint) return 0;
    std::lock_guard<std::mutex> lock(g_mutex);
    ggml_backend_reg_t rpc = ggml_backend_reg_by_name("RPC");
    if (!rpc) return 0;
    using add_server_t = ggml_backend_reg_t (*)(const char*);
    auto add_server = (add_server_t)ggml_backend_reg_get_proc_address(rpc, "ggml_backend_rpc_add_server");
    if (!add_server) return 0;
    ggml_backend_reg_t server = add_server(endpoint);
    if (!server) return 0;
    ggml_backend_register(server);
    return (int32_t)ggml_backend_reg_dev_count(server);
}

extern "C" size_t sdnet_backend_report(char* buffer, size_t size) {
    std::lock_guard<std::mutex> lock(g_mutex);
    std::string out = g_report;
    append_registry(out);
    if (buffer && size > 0) {
        size_t n = out.size() < size - 1 ? out.size() : size - 1;
        memcpy(buffer, out.data(), n);
        buffer[n] = '\0';
    }
    return out.size();
}

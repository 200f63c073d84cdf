// sdnet-rpc-server: ggml's own RPC server (ggml_backend_rpc_start_server), started over the devices of the runtime
// it ships with. Another machine's generator reaches it with GeneratorOptions.RpcServers = "host:port".
//
// The runtime's backend modules carry our file prefix, which ggml's own module scan does not know, so they are
// loaded with the shim's loader (the same choice of CPU variant the library makes), from the folder of the
// runtime this tool is linked against.
#include "ggml-backend.h"
#include "ggml-rpc.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <dlfcn.h>
#endif

// From the shim in the stable-diffusion library; declared here rather than through sdnet_shim.h, whose export
// macro is for building the library itself.
extern "C" int32_t sdnet_load_backends(const char* dir);

namespace {

// The folder of the library that holds ggml's registry: the runtime folder, wherever the tool was installed.
std::string runtime_dir() {
#if defined(_WIN32)
    HMODULE module = nullptr;
    if (!GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            reinterpret_cast<LPCSTR>(&ggml_backend_dev_count), &module))
        return "";
    char path[MAX_PATH];
    DWORD n = GetModuleFileNameA(module, path, MAX_PATH);
    std::string p(path, n);
    return p.substr(0, p.find_last_of("\\/"));
#else
    Dl_info info{};
    if (!dladdr(reinterpret_cast<void*>(&ggml_backend_dev_count), &info) || !info.dli_fname) return "";
    std::string p = info.dli_fname;
    size_t slash = p.find_last_of('/');
    return slash == std::string::npos ? "." : p.substr(0, slash);
#endif
}

void usage(const char* self) {
    std::fprintf(stderr,
                 "usage: %s [--host 127.0.0.1] [--port 50052] [--threads N] [--device NAME,...] [--cache DIR]\n"
                 "Serves this machine's ggml devices to remote generators (GeneratorOptions.RpcServers = host:port).\n"
                 "The protocol has no authentication or encryption: keep it on loopback or a trusted network.\n",
                 self);
}

}  // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int port = 50052;
    size_t threads = std::thread::hardware_concurrency() > 0 ? std::thread::hardware_concurrency() : 1;
    std::string devices_arg;
    std::string cache;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto value = [&](const char* name) -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "error: %s needs a value\n", name);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--host" || a == "-H") host = value("--host");
        else if (a == "--port" || a == "-p") port = std::atoi(value("--port"));
        else if (a == "--threads" || a == "-t") threads = (size_t)std::atoi(value("--threads"));
        else if (a == "--device" || a == "-d") devices_arg = value("--device");
        else if (a == "--cache" || a == "-c") cache = value("--cache");
        else if (a == "--help" || a == "-h") {
            usage(argv[0]);
            return 0;
        } else {
            std::fprintf(stderr, "error: unknown argument '%s'\n", a.c_str());
            usage(argv[0]);
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || threads == 0) {
        std::fprintf(stderr, "error: --port must be 1 to 65535 and --threads at least 1\n");
        return 2;
    }

    std::string dir = runtime_dir();
    if (dir.empty() || sdnet_load_backends(dir.c_str()) <= 0) {
        std::fprintf(stderr, "error: no backend modules could be loaded from '%s'\n", dir.c_str());
        return 1;
    }
    ggml_backend_reg_t rpc = ggml_backend_reg_by_name("RPC");
    auto start = rpc ? (decltype(&ggml_backend_rpc_start_server))ggml_backend_reg_get_proc_address(rpc, "ggml_backend_rpc_start_server")
                     : nullptr;
    if (!start) {
        std::fprintf(stderr, "error: this runtime has no RPC backend (build it with GGML_RPC=ON)\n");
        return 1;
    }

    std::vector<ggml_backend_dev_t> devices;
    if (devices_arg.empty()) {
        // Every local compute device, the accelerators first; the CPU when there is nothing else.
        for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
            ggml_backend_dev_t dev = ggml_backend_dev_get(i);
            enum ggml_backend_dev_type type = ggml_backend_dev_type(dev);
            if ((type == GGML_BACKEND_DEVICE_TYPE_GPU || type == GGML_BACKEND_DEVICE_TYPE_IGPU) &&
                ggml_backend_dev_backend_reg(dev) != rpc)
                devices.push_back(dev);
        }
        if (devices.empty()) {
            ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
            if (cpu) devices.push_back(cpu);
        }
    } else {
        size_t from = 0;
        while (from <= devices_arg.size()) {
            size_t comma = devices_arg.find(',', from);
            std::string name = devices_arg.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
            ggml_backend_dev_t dev = ggml_backend_dev_by_name(name.c_str());
            if (!dev) {
                std::fprintf(stderr, "error: no device '%s'; this runtime has:", name.c_str());
                for (size_t i = 0; i < ggml_backend_dev_count(); i++) std::fprintf(stderr, " %s", ggml_backend_dev_name(ggml_backend_dev_get(i)));
                std::fprintf(stderr, "\n");
                return 2;
            }
            devices.push_back(dev);
            if (comma == std::string::npos) break;
            from = comma + 1;
        }
    }
    if (devices.empty()) {
        std::fprintf(stderr, "error: no device to serve\n");
        return 1;
    }

    std::string endpoint = host + ":" + std::to_string(port);
    std::fprintf(stdout, "sdnet-rpc-server: serving");
    for (ggml_backend_dev_t dev : devices) std::fprintf(stdout, " %s (%s)", ggml_backend_dev_name(dev), ggml_backend_dev_description(dev));
    std::fprintf(stdout, " on %s\n", endpoint.c_str());
    std::fflush(stdout);
    start(endpoint.c_str(), cache.empty() ? nullptr : cache.c_str(), threads, devices.size(), devices.data());
    return 0;
}

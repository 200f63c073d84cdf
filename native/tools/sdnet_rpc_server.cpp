// sdnet-rpc-server: ggml's own RPC server (ggml_backend_rpc_start_server), started over the devices of the runtime
// it ships with. Another machine's generator reaches it with GeneratorOptions.RpcServers = "host:port".
//
// The runtime's backend modules carry our file prefix, which ggml's own module scan does not know, so they are
// loaded with the shim's loader (the same choice of CPU variant the library makes), from the runtime's folder.
//
// Where the runtime is: on Linux and macOS the tool is linked against it (rpath ../runtimes/<rid>/native). Windows has
// no rpath and finds a program's DLLs only beside it or on PATH, while the tool sits in tools/ beside
// runtimes/win-x64/native (the runtime packages may carry nothing but libraries). So on Windows the tool links none of
// them: it loads sdnet-stable-diffusion.dll from ../runtimes/win-x64/native (or its own folder) by full path, with
// its dependencies resolved from that folder, and takes every function it calls from the loaded modules.
#include "ggml-backend.h"
#include "ggml-rpc.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <chrono>
#include <thread>
#include <vector>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#else
#include <dlfcn.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

// From the shim in the stable-diffusion library; declared here rather than through sdnet_shim.h, whose export
// macro is for building the library itself.
extern "C" int32_t sdnet_load_backends(const char* dir);

namespace {

// Every runtime function the tool calls, as pointers: linked ones on Unix, looked up in the loaded DLLs on Windows.
#define SDNET_RPC_FUNCTIONS(X)                                                                                  \
    X(sdnet_load_backends) X(ggml_backend_reg_by_name) X(ggml_backend_reg_get_proc_address)                    \
    X(ggml_backend_dev_count) X(ggml_backend_dev_get) X(ggml_backend_dev_type) X(ggml_backend_dev_backend_reg) \
    X(ggml_backend_dev_by_type) X(ggml_backend_dev_by_name) X(ggml_backend_dev_name) X(ggml_backend_dev_description)

struct Api {
#define SDNET_RPC_FIELD(name) decltype(&::name) name = nullptr;
    SDNET_RPC_FUNCTIONS(SDNET_RPC_FIELD)
#undef SDNET_RPC_FIELD
};

#if defined(_WIN32)
std::string narrow(const std::wstring& w) {
    int n = WideCharToMultiByte(CP_UTF8, 0, w.c_str(), (int)w.size(), nullptr, 0, nullptr, nullptr);
    std::string s(n > 0 ? n : 0, '\0');
    if (n > 0) WideCharToMultiByte(CP_UTF8, 0, w.c_str(), (int)w.size(), &s[0], n, nullptr, nullptr);
    return s;
}

// This program's folder, however long its path (GetModuleFileNameW truncates silently at the buffer's size).
std::wstring exe_dir() {
    std::wstring path(MAX_PATH, L'\0');
    for (;;) {
        DWORD n = GetModuleFileNameW(nullptr, &path[0], (DWORD)path.size());
        if (n == 0) return L"";
        if (n < path.size()) {
            path.resize(n);
            break;
        }
        path.resize(path.size() * 2);
    }
    size_t slash = path.find_last_of(L"\\/");
    return slash == std::wstring::npos ? L"." : path.substr(0, slash);
}

// Loads the runtime and fills api; returns the runtime's folder (UTF-8), or "" with error set.
std::string load_api(Api& api, std::string& error) {
    const std::wstring here = exe_dir();
    const std::wstring candidates[] = {here + L"\\..\\runtimes\\" SDNET_RID_W L"\\native", here};
    for (const std::wstring& dir : candidates) {
        std::wstring lib = dir + L"\\" SDNET_FILE_PREFIX_W L"stable-diffusion.dll";
        if (GetFileAttributesW(lib.c_str()) == INVALID_FILE_ATTRIBUTES) continue;
        // LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR: its imports (sdnet-ggml.dll, sdnet-ggml-base.dll) come from its own folder.
        HMODULE sd = LoadLibraryExW(lib.c_str(), nullptr, LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_DEFAULT_DIRS);
        if (!sd) {
            error = "could not load " + narrow(lib) + " (error " + std::to_string(GetLastError()) + ")";
            return "";
        }
        HMODULE modules[] = {sd, GetModuleHandleW(SDNET_FILE_PREFIX_W L"ggml.dll"), GetModuleHandleW(SDNET_FILE_PREFIX_W L"ggml-base.dll")};
        auto find = [&](const char* name) -> FARPROC {
            for (HMODULE m : modules)
                if (FARPROC f = m ? GetProcAddress(m, name) : nullptr) return f;
            return nullptr;
        };
#define SDNET_RPC_RESOLVE(name)                                                              \
        api.name = reinterpret_cast<decltype(&::name)>(reinterpret_cast<void*>(find(#name))); \
        if (!api.name) {                                                                     \
            error = narrow(dir) + " has no " #name ": not a runtime of this version";         \
            return "";                                                                        \
        }
        SDNET_RPC_FUNCTIONS(SDNET_RPC_RESOLVE)
#undef SDNET_RPC_RESOLVE
        return narrow(dir);
    }
    error = "no " SDNET_FILE_PREFIX "stable-diffusion.dll in " + narrow(candidates[0]) + " or " + narrow(here);
    return "";
}
#else
// The folder of the library that holds ggml's registry: the runtime folder, wherever the tool was installed.
std::string load_api(Api& api, std::string& error) {
#define SDNET_RPC_LINKED(name) api.name = &::name;
    SDNET_RPC_FUNCTIONS(SDNET_RPC_LINKED)
#undef SDNET_RPC_LINKED
    Dl_info info{};
    if (!dladdr(reinterpret_cast<void*>(&ggml_backend_dev_count), &info) || !info.dli_fname) {
        error = "the runtime's folder could not be found";
        return "";
    }
    std::string p = info.dli_fname;
    size_t slash = p.find_last_of('/');
    return slash == std::string::npos ? "." : p.substr(0, slash);
}
#endif

#if defined(_WIN32)
using socket_t = SOCKET;
const socket_t kNoSocket = INVALID_SOCKET;
void close_socket(socket_t s) { closesocket(s); }
#else
using socket_t = int;
const socket_t kNoSocket = -1;
void close_socket(socket_t s) { close(s); }
#endif

// Tries `attempt` on a fresh TCP socket for each address host:port resolves to, until one succeeds. `resolved` (if
// given) tells an unknown host from one whose every address failed.
template <typename Attempt>
bool any_address(const std::string& host, int port, bool passive, Attempt attempt, bool* resolved = nullptr) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    addrinfo* found = nullptr;
    const bool known = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) == 0;
    if (resolved) *resolved = known;
    if (!known) return false;
    bool ok = false;
    for (addrinfo* a = found; a && !ok; a = a->ai_next) {
        socket_t s = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (s == kNoSocket) continue;
        ok = attempt(s, a);
        close_socket(s);
    }
    freeaddrinfo(found);
    return ok;
}

// True once a TCP connection to host:port is accepted. ggml's server says nothing between binding its socket and
// blocking in accept, so this is how the tool learns that it really serves (a wildcard host is reached on loopback).
bool accepts_connections(std::string host, int port) {
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::" || host == "[::]") host = "::1";
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return any_address(host, port, false, [](socket_t s, const addrinfo* a) { return connect(s, a->ai_addr, (int)a->ai_addrlen) == 0; });
}

// False when host:port cannot be bound now (another process listens there). Checked before starting, so that the
// readiness probe above can only ever reach this process's own server. An unresolvable host is left to ggml to report.
bool can_bind(const std::string& host, int port) {
    bool resolved = false;
    bool bound = any_address(host, port, true, [](socket_t s, const addrinfo* a) {
#if !defined(_WIN32)
        int on = 1;  // as ggml's server socket: a port in TIME_WAIT is free
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
#endif
        return bind(s, a->ai_addr, (int)a->ai_addrlen) == 0;
    }, &resolved);
    return bound || !resolved;
}

// A whole decimal number from min to max, or false (std::atoi took "-1" threads as 18446744073709551615).
bool parse_int(const char* text, long min, long max, long& value) {
    char* end = nullptr;
    errno = 0;
    value = std::strtol(text, &end, 10);
    return end != text && *end == '\0' && errno == 0 && value >= min && value <= max;
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
        else if (a == "--port" || a == "-p" || a == "--threads" || a == "-t") {
            const bool is_port = a == "--port" || a == "-p";
            long n = 0;
            if (!parse_int(value(a.c_str()), 1, is_port ? 65535 : 1024, n)) {
                std::fprintf(stderr, "error: %s must be a number from 1 to %d\n", is_port ? "--port" : "--threads", is_port ? 65535 : 1024);
                return 2;
            }
            if (is_port) port = (int)n;
            else threads = (size_t)n;
        }
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

    Api api;
    std::string error;
    std::string dir = load_api(api, error);
    if (dir.empty()) {
        std::fprintf(stderr, "error: %s\n", error.c_str());
        return 1;
    }
    if (api.sdnet_load_backends(dir.c_str()) <= 0) {
        std::fprintf(stderr, "error: no backend modules could be loaded from '%s'\n", dir.c_str());
        return 1;
    }
    ggml_backend_reg_t rpc = api.ggml_backend_reg_by_name("RPC");
    auto start = rpc ? (decltype(&ggml_backend_rpc_start_server))api.ggml_backend_reg_get_proc_address(rpc, "ggml_backend_rpc_start_server")
                     : nullptr;
    if (!start) {
        std::fprintf(stderr, "error: this runtime has no RPC backend (build it with GGML_RPC=ON)\n");
        return 1;
    }

    std::vector<ggml_backend_dev_t> devices;
    if (devices_arg.empty()) {
        // Every local compute device, the accelerators first; the CPU when there is nothing else.
        for (size_t i = 0; i < api.ggml_backend_dev_count(); i++) {
            ggml_backend_dev_t dev = api.ggml_backend_dev_get(i);
            enum ggml_backend_dev_type type = api.ggml_backend_dev_type(dev);
            if ((type == GGML_BACKEND_DEVICE_TYPE_GPU || type == GGML_BACKEND_DEVICE_TYPE_IGPU) &&
                api.ggml_backend_dev_backend_reg(dev) != rpc)
                devices.push_back(dev);
        }
        if (devices.empty()) {
            ggml_backend_dev_t cpu = api.ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
            if (cpu) devices.push_back(cpu);
        }
    } else {
        size_t from = 0;
        while (from <= devices_arg.size()) {
            size_t comma = devices_arg.find(',', from);
            std::string name = devices_arg.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
            ggml_backend_dev_t dev = api.ggml_backend_dev_by_name(name.c_str());
            if (!dev) {
                std::fprintf(stderr, "error: no device '%s'; this runtime has:", name.c_str());
                for (size_t i = 0; i < api.ggml_backend_dev_count(); i++) std::fprintf(stderr, " %s", api.ggml_backend_dev_name(api.ggml_backend_dev_get(i)));
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
    std::string serving = "sdnet-rpc-server: serving";
    for (ggml_backend_dev_t dev : devices)
        serving += std::string(" ") + api.ggml_backend_dev_name(dev) + " (" + api.ggml_backend_dev_description(dev) + ")";
    serving += " on " + endpoint + "\n";
#if defined(_WIN32)
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
#endif
    if (!can_bind(host, port)) {
        std::fprintf(stderr, "error: %s is in use by another process\n", endpoint.c_str());
        return 1;
    }
    // "serving" is printed once the port accepts connections, never before: scripts and tests start clients on it.
    // The probe is one empty client connection, which the server accepts and closes.
    std::thread([serving, host, port] {
        for (int i = 0; i < 600; i++) {
            if (accepts_connections(host, port)) {
                std::fputs(serving.c_str(), stdout);
                std::fflush(stdout);
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }).detach();
    start(endpoint.c_str(), cache.empty() ? nullptr : cache.c_str(), threads, devices.size(), devices.data());
    // ggml's server only returns when it could not start (its reason is on stderr): the port taken, a bad address.
    std::fprintf(stderr, "error: the RPC server could not serve on %s\n", endpoint.c_str());
    return 1;
}

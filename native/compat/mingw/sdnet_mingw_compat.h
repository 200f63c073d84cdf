/* Windows SDK declarations that older MinGW-w64 headers lack, force-included into every translation unit of a MinGW
 * build by native/cmake/SdnetMinGW.cmake, and only when its configure check finds them missing. Kept free of
 * <windows.h> (force-including that would change every file's macros); the types are the SDK's ULONG, which is a
 * 32-bit unsigned long on Windows. */
#ifndef SDNET_MINGW_COMPAT_H
#define SDNET_MINGW_COMPAT_H

#ifndef THREAD_POWER_THROTTLING_CURRENT_VERSION
#define THREAD_POWER_THROTTLING_CURRENT_VERSION 1
#define THREAD_POWER_THROTTLING_EXECUTION_SPEED 0x1
#define THREAD_POWER_THROTTLING_VALID_FLAGS (THREAD_POWER_THROTTLING_EXECUTION_SPEED)
typedef struct _THREAD_POWER_THROTTLING_STATE {
    unsigned long Version;
    unsigned long ControlMask;
    unsigned long StateMask;
} THREAD_POWER_THROTTLING_STATE;
#endif

#endif

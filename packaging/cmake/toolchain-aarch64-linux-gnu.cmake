# Cross-compiling Steward for arm64 (Raspberry Pi OS / Debian 12) on an amd64 Debian 12 host with
# Debian's cross compiler (crossbuild-essential-arm64) and the :arm64 -dev packages:
#   cmake -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=packaging/cmake/toolchain-aarch64-linux-gnu.cmake
# Libraries and headers come from the multiarch paths (/usr/lib/aarch64-linux-gnu); programs the
# build runs (sdbus-c++-xml2cpp) come from the host.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Debian's multiarch: target libraries live under the normal root, in the triplet directories.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config for the target: Debian ships a per-triplet wrapper.
set(PKG_CONFIG_EXECUTABLE aarch64-linux-gnu-pkg-config CACHE FILEPATH "pkg-config for arm64")

# Test programs run under qemu-user (no binfmt_misc needed): ctest and gtest_discover_tests use it.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu)

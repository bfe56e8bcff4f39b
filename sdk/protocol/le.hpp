// SPDX-License-Identifier: GPL-2.0
// Little-endian integers, as every field of the protocol is written.
#pragma once

#include <cstdint>
#include <string>

namespace kmsdk::proto {

inline void put_le(std::string& out, std::uint64_t value, int size)
{
    for (int i = 0; i < size; ++i)
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

inline void put_le(char* out, std::uint64_t value, int size)
{
    for (int i = 0; i < size; ++i)
        out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

inline std::uint64_t get_le(const char* data, int size)
{
    std::uint64_t value = 0;
    for (int i = size - 1; i >= 0; --i)
        value = (value << 8) | static_cast<unsigned char>(data[i]);
    return value;
}

}  // namespace kmsdk::proto

// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <fmt/format.h>
#include <xxhash.h>

#include <cstddef>
#include <memory>
#include <new>
#include <string>

namespace kmsdk::detail {

// XXH3-64 over bytes given piece by piece: the hash of snapshots' RAM and
// of what a guest stages, both too large for ContentHash's byte loop.
class Xxh3Hash {
public:
    Xxh3Hash() : state_{XXH3_createState()}
    {
        if (!state_ || XXH3_64bits_reset(state_.get()) != XXH_OK)
            throw std::bad_alloc();
    }

    Xxh3Hash& add(const void* data, std::size_t size)
    {
        XXH3_64bits_update(state_.get(), data, size);
        return *this;
    }

    // 16 lowercase hex digits.
    std::string hex() const { return fmt::format("{:016x}", XXH3_64bits_digest(state_.get())); }

private:
    struct Free {
        void operator()(XXH3_state_t* state) const { XXH3_freeState(state); }
    };
    std::unique_ptr<XXH3_state_t, Free> state_;
};

}  // namespace kmsdk::detail

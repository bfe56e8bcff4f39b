// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

namespace kmsdk::detail {

// Sets an environment variable (or, given nullptr, unsets it) for one
// scope, then puts back what was there. For tests and the bench, which
// steer the runtime through its environment (KMSDK_COLD, ...); not
// thread-safe, as setenv is not.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_{name}
    {
        if (const char* old = std::getenv(name))
            old_ = old;
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~ScopedEnv()
    {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace kmsdk::detail

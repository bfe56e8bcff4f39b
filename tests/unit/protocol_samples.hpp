// SPDX-License-Identifier: GPL-2.0
//
// One of each protocol message, every field away from its default (so a
// field the codec dropped or swapped shows), with the values a careless
// codec gets wrong: high bits, negative numbers, NUL and non-ASCII bytes.
// The unit tests round-trip them; the fuzzer starts from them.
#pragma once

#include "kmsdk/proto/messages.hpp"

#include <string>
#include <tuple>
#include <type_traits>
#include <variant>

namespace kmsdk::proto::samples {

using namespace std::string_literals;

inline auto all()
{
    return std::tuple{
        Hello{.protocol_version = 0xfffffffe,
              .release = "6.12.9-kmsdk",
              .agent_build = "built\0 at 12:00"s,
              .uptime_ns = 0x8000000000000001},
        Ping{},
        Run{.argv = {"/bin/sh", "-c", "echo \xff\xfe; exit 3", ""},
            .cwd = "/lib/modules",
            .input = true,
            .rows = 24,
            .cols = 0x80000000},
        Input{.data = "line\n\0\x80"s, .end = true},
        Output{.stream = Stream::err, .data = "oops\0"s},
        Window{.bytes = initial_window},
        Signal{.number = -15},
        Exited{.status = -1, .elapsed_ns = 0xffffffffffffffff},
        PutFile{.path = "/sys/module/kms_hello/parameters/greeting",
                .mode = 0100755,
                .data = std::string(300, '\xa5')},
        GetFile{.path = "/proc/modules"},
        FileData{.data = "kms_hello 16384 0 - Live 0x0\n"},
        Insmod{.path = "/modules/kms_hello.ko", .params = "greeting=\"hi there\" count=3"},
        Rmmod{.name = "kms_hello", .force = true},
        ModuleResult{.error = 17, .message = "File exists", .elapsed_ns = 123456789},
        BootPass{},
        BootPassResult{.status = 2, .log = "depmod\nmodprobe -a\n", .errors = "modprobe: FATAL\n"},
        ReadKernelLog{.first = 0x100000000},
        KernelLog{.next = 802,
                  .taint = 0x3000,
                  .records = "6,800,25101200,-;kms_hello: loaded\n"},
        Shutdown{},
        Resume{.seed = "\x01\x00\x02\xff"s, .realtime_ns = 1735689600000000000, .repair_pci_bars = true},
        Resumed{.log = "0000:00:03.0 BAR0 0xfe000000\n", .boot_pass_log = "$ /sbin/depmod\n"},
        Ok{},
        Error{.error = -2147483647 - 1, .message = "no such file: /nope"},
    };
}

template <class... M>
std::variant<M...> variant_of(std::tuple<M...>);
static_assert(std::is_same_v<decltype(variant_of(all())), Message>,
              "all() must hold one of every message, in Message's order");

}  // namespace kmsdk::proto::samples

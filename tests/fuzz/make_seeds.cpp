// SPDX-License-Identifier: GPL-2.0
// Writes the protocol fuzzer's seed corpus into the folder it is given: for
// each message a valid frame and its bare payload, and one stream of them
// all. Random bytes almost never pass a frame's checksums; from these the
// fuzzer starts with frames that do, and with payloads that decode.
//
// The layouts are what protocol_fuzz.cpp reads: a frame seed ends with a
// few bytes it takes as piece sizes (from the input's end), so the frame is
// also read in pieces; a payload seed starts with the byte that chooses
// its message (the message's index in Message).
#include "kmsdk/proto/frame.hpp"
#include "kmsdk/proto/messages.hpp"

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>

namespace fs = std::filesystem;
using namespace kmsdk::proto;
using namespace std::string_literals;

namespace {

auto messages()
{
    return std::tuple{
        Hello{.protocol_version = protocol_version,
              .release = "6.12.9-amd64",
              .agent_build = "seed",
              .uptime_ns = 1500000000},
        Ping{},
        Run{.argv = {"/bin/sh", "-c", "echo hi"},
            .cwd = "/tmp",
            .input = true,
            .rows = 24,
            .cols = 80},
        Input{.data = "hello\n", .end = true},
        Output{.stream = Stream::err, .data = "warning\n"},
        Window{.bytes = max_chunk},
        Signal{.number = 15},
        Exited{.status = 137, .elapsed_ns = 42000000},
        PutFile{.path = "/etc/modprobe.d/kms.conf",
                .mode = 0600,
                .data = "options kms_hello x=1\n"},
        GetFile{.path = "/proc/modules"},
        FileData{.data = "kms_hello 16384 0 - Live 0x0\n"},
        Insmod{.path = "/modules/kms_hello.ko", .params = "greeting=hi"},
        Rmmod{.name = "kms_hello", .force = true},
        ModuleResult{.error = 17, .message = "File exists", .elapsed_ns = 900000},
        BootPass{},
        BootPassResult{.status = 1, .log = "depmod\n", .errors = "modprobe: FATAL\n"},
        ReadKernelLog{.first = 800},
        KernelLog{.next = 802, .taint = 0x3000, .records = "6,800,25101200,-;kms_hello: loaded\n"},
        Shutdown{},
        Resume{.seed = "\x01\x02\x03\x04\x00\xff"s, .realtime_ns = 1735689600000000000},
        Resumed{.log = "0000:00:03.0 BAR0\n"},
        Ok{},
        Error{.error = 2, .message = "no such file"},
    };
}

template <class... M>
std::variant<M...> variant_of(std::tuple<M...>);
static_assert(std::is_same_v<decltype(variant_of(messages())), Message>,
              "messages() must hold one of every message");

const std::string piece_sizes = "\x07\x17\x01\x3f\x1e\x00\x0c\x2d"s;

void write(const fs::path& path, const std::string& bytes)
{
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush())
        throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s FOLDER\n", argv[0]);
        return 2;
    }
    try {
        fs::path dir{argv[1]};
        fs::create_directories(dir);
        std::string stream;
        std::uint32_t id = 1;
        std::apply(
            [&](const auto&... message) {
                auto one = [&](const auto& m) {
                    auto name = type_name(m.type);
                    auto bytes = encode(frame(id++, m));
                    write(dir / (name + ".frame"), bytes + piece_sizes);
                    const auto choice = static_cast<char>(Message{m}.index());
                    write(dir / (name + ".payload"), choice + encode_payload(m));
                    stream += bytes;
                };
                (one(message), ...);
            },
            messages());
        write(dir / "all.stream", stream + piece_sizes);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
    return 0;
}

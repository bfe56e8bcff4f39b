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
#include "protocol_samples.hpp"

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
            samples::all());
        write(dir / "all.stream", stream + piece_sizes);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
    return 0;
}

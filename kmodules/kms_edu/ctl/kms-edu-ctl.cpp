// SPDX-License-Identifier: GPL-2.0
//
// kms-edu-ctl: drives /dev/kms_edu from the command line, for tests and for
// people exploring the driver in a guest. It passes offsets, lengths and n
// on unchecked, so that tests reach the driver's own checks.
//
// Exit status: 0 done, 1 a system call failed or an answer was wrong (the
// message on stderr says which), 2 the command line was wrong.
#include "commands.hpp"
#include "failure.hpp"
#include "numbers.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <map>

namespace kms_edu_ctl {
namespace {

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

// What the command line asked for; the subcommands write into it.
struct Request {
    std::string device = "/dev/kms_edu";
    std::uint32_t value = 0;
    std::uint32_t n = 0;
    off_t offset = 0;
    std::size_t length = 0;
    RoundtripArgs roundtrip;
    ExerciseArgs exercise;
};

using Actions = std::map<const CLI::App*, std::function<int()>>;

// The subcommands, and what runs each once the command line is parsed.
Actions add_commands(CLI::App& app, Request& r)
{
    Actions actions;
    auto* info_app =
        app.add_subcommand("info", "Print the device's id, irq mode, irq and dma counts (sysfs)");
    actions[info_app] = [&r] { return info(r.device); };

    auto* liveness_app =
        app.add_subcommand("liveness", "Ask the device to invert VALUE; print its answer");
    liveness_app->add_option("VALUE", r.value, "A 32-bit pattern")
        ->required()
        ->transform(decimal_or_hex());
    actions[liveness_app] = [&r] { return liveness(r.device, r.value); };

    auto* factorial_app =
        app.add_subcommand("factorial", "Ask the device for N! (modulo 2^32); print it");
    factorial_app->add_option("N", r.n, "Any 32-bit number: the driver decides what it accepts")
        ->required()
        ->transform(decimal_or_hex());
    actions[factorial_app] = [&r] { return factorial(r.device, r.n); };

    auto* write_app =
        app.add_subcommand("write", "DMA stdin into the device's buffer (one pwrite)");
    write_app->add_option("OFFSET", r.offset, "Where in the buffer")
        ->required()
        ->transform(decimal_or_hex(true));
    actions[write_app] = [&r] { return write_from_stdin(r.device, r.offset); };

    auto* read_app =
        app.add_subcommand("read", "DMA LENGTH bytes from the buffer to stdout (one pread)");
    read_app->add_option("OFFSET", r.offset, "Where in the buffer")
        ->required()
        ->transform(decimal_or_hex(true));
    read_app->add_option("LENGTH", r.length, "How many bytes")
        ->required()
        ->transform(decimal_or_hex());
    actions[read_app] = [&r] { return read_to_stdout(r.device, r.offset, r.length); };

    auto* roundtrip_app = app.add_subcommand(
        "dma-roundtrip", "Write random bytes, read them back and compare, --repeat times");
    roundtrip_app->add_option("--offset", r.roundtrip.offset, "Where in the buffer")
        ->capture_default_str()
        ->transform(decimal_or_hex(true));
    roundtrip_app->add_option("--length", r.roundtrip.length, "Bytes per transfer")
        ->capture_default_str()
        ->transform(decimal_or_hex());
    roundtrip_app->add_option("--repeat", r.roundtrip.repeat, "Rounds")
        ->capture_default_str()
        ->transform(decimal_or_hex());
    roundtrip_app
        ->add_option_function<std::uint32_t>(
            "--seed", [&r](std::uint32_t seed) { r.roundtrip.seed = seed; },
            "Seed of the random bytes (default: a fresh one), to replay a failure")
        ->transform(decimal_or_hex());
    actions[roundtrip_app] = [&r] { return dma_roundtrip(r.device, r.roundtrip); };

    auto* exercise_app = app.add_subcommand(
        "exercise", "Factorials of random n in 0..20 and liveness of random patterns, checked");
    exercise_app->add_option("--repeat", r.exercise.repeat, "Rounds")
        ->capture_default_str()
        ->transform(decimal_or_hex());
    exercise_app
        ->add_option_function<std::uint32_t>(
            "--seed", [&r](std::uint32_t seed) { r.exercise.seed = seed; },
            "Seed of the random requests (default: a fresh one), to replay a failure")
        ->transform(decimal_or_hex());
    actions[exercise_app] = [&r] { return exercise(r.device, r.exercise); };
    return actions;
}

int run(int argc, char** argv)
{
    CLI::App app{"Drive the kms_edu driver's device node: ioctls, DMA, sysfs.\n"
                 "Offsets, lengths and n go to the driver unchecked.",
                 "kms-edu-ctl"};
    Request request;
    app.add_option("-d,--device", request.device, "The kms_edu device node")->capture_default_str();
    app.require_subcommand(1);
    // Set before the subcommands, which inherit it: -d may also follow the
    // command, as in `kms-edu-ctl info -d /dev/kms_edu1`.
    app.fallthrough();
    auto actions = add_commands(app, request);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        if (error.get_exit_code() == 0)
            return app.exit(error);  // --help
        app.exit(error);  // the error, and "Run with --help for more information."
        return exit_usage;
    }

    try {
        return actions.at(app.get_subcommands().front())();
    } catch (const Failure& failure) {
        std::fflush(stdout);
        std::fprintf(stderr, "kms-edu-ctl: %s\n", failure.what());
        return exit_failure;
    }
}

}  // namespace
}  // namespace kms_edu_ctl

int main(int argc, char** argv)
{
    return kms_edu_ctl::run(argc, argv);
}

// SPDX-License-Identifier: GPL-2.0
#include "clones.hpp"

#include "process.hpp"

#include "kmsdk/guest.hpp"

#include <fmt/format.h>

#include <condition_variable>
#include <exception>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace kmsdk::bench {
namespace {

// What QEMU's memory costs the host, in MB (10^6 bytes), from
// /proc/<pid>/smaps_rollup.
struct Memory {
    double rss_mb = 0;
    double pss_mb = 0;
};

Memory memory_of(const std::string& pid)
{
    Memory memory;
    std::ifstream rollup{"/proc/" + pid + "/smaps_rollup"};
    for (std::string line; std::getline(rollup, line);) {
        std::istringstream words{line};
        std::string name;
        double kib = 0;
        words >> name >> kib;
        if (name == "Rss:")
            memory.rss_mb = kib * 1024 / 1e6;
        else if (name == "Pss:")
            memory.pss_mb = kib * 1024 / 1e6;
    }
    return memory;
}

// The QEMUs this process started: "pid command line" each.
Memory qemu_memory()
{
    Memory total;
    for (const auto& process : our_processes("qemu-system")) {
        auto memory = memory_of(process.substr(0, process.find(' ')));
        total.rss_mb += memory.rss_mb;
        total.pss_mb += memory.pss_mb;
    }
    return total;
}

struct Round {
    double all_ready_ms = 0;
    Memory memory;
    unsigned restored = 0;
};

// `guests` guests constructed at once, each on a thread of its own (a
// QEMU goes with the thread that started it), all alive while the memory
// is read.
Round start_together(const std::string& release, unsigned guests, bool cold)
{
    std::vector<std::unique_ptr<Guest>> started(guests);
    std::vector<std::string> errors(guests);
    std::mutex mutex;
    std::condition_variable measured_cv;
    bool measured = false;
    unsigned ready = 0;
    std::condition_variable ready_cv;
    std::vector<std::thread> threads;
    auto began = Clock::now();
    for (unsigned i = 0; i < guests; ++i)
        threads.emplace_back([&, i] {
            try {
                auto options = GuestOptions{}.kernel(release);
                if (cold)
                    options.cold();
                started[i] = std::make_unique<Guest>(std::move(options));
                if (!started[i]->run("true").ok())
                    errors[i] = "`true` failed";
            } catch (const std::exception& error) {
                errors[i] = error.what();
            }
            std::unique_lock lock{mutex};
            ++ready;
            ready_cv.notify_all();
            measured_cv.wait(lock, [&] { return measured; });
            started[i].reset();
        });
    Round round;
    {
        std::unique_lock lock{mutex};
        ready_cv.wait(lock, [&] { return ready == guests; });
        round.all_ready_ms = ms_since(began);
        round.memory = qemu_memory();
        for (const auto& guest : started)
            if (guest && guest->boot_stats().restored)
                ++round.restored;
        measured = true;
    }
    measured_cv.notify_all();
    for (auto& thread : threads)
        thread.join();
    for (const auto& error : errors)
        if (!error.empty())
            throw std::runtime_error(error);
    return round;
}

}  // namespace

KernelReport clones_on(const Kernel& kernel, const ClonesConfig& config)
{
    KernelReport report;
    const auto& release = kernel.release();
    report.release = release;
    report.title = fmt::format("Shared clones, {}: {} guests at once", release, config.guests);
    report.baseline_heading = fmt::format("{} cold guests, median", config.guests);
    report.ratio_heading = "cold/restored";
    // Filled in below and added at the end: add() may move the figures it
    // has, so no reference to one outlives the next.
    Figure time, rss, pss;
    try {
        // Makes the snapshot if there is none, and warms the page cache.
        std::make_unique<Guest>(GuestOptions{}.kernel(release)).reset();
        unsigned not_restored = 0;
        for (unsigned i = 0; i < config.rounds; ++i) {
            check_interrupted();
            // Odd rounds turn the pair around.
            for (bool cold : i % 2 == 0 ? std::vector{false, true} : std::vector{true, false}) {
                fmt::print(stderr, "{}: clones: round {} of {}, {}\n", release, i + 1,
                           config.rounds, cold ? "cold" : "restored");
                auto round = start_together(release, config.guests, cold);
                if (cold) {
                    time.naive.push_back(round.all_ready_ms);
                    rss.naive.push_back(round.memory.rss_mb);
                    pss.naive.push_back(round.memory.pss_mb);
                    continue;
                }
                not_restored += config.guests - round.restored;
                time.samples.push_back(round.all_ready_ms);
                rss.samples.push_back(round.memory.rss_mb);
                pss.samples.push_back(round.memory.pss_mb);
            }
        }
        report.notes.emplace_back(fmt::format(
            "{} rounds, {} guests each way, nothing staged; memory read while all were up; "
            "restored guests that booted instead: {}",
            config.rounds, config.guests, not_restored));
    } catch (const std::exception& error) {
        report.errors.emplace_back(error.what());
    }
    auto fill = [&report](Figure& measured, std::string key, std::string label, Unit unit) {
        auto& figure = add(report, std::move(key), std::move(label), unit);
        figure.samples = std::move(measured.samples);
        figure.naive = std::move(measured.naive);
        figure.naive_label = "booted at once";
    };
    fill(time, "clones_all_ready",
         fmt::format("{} restored at once: until all ran `true`", config.guests), Unit::ms);
    fill(rss, "clones_rss", "their QEMUs' RSS, summed", Unit::mb);
    fill(pss, "clones_pss", "their QEMUs' PSS, summed (shared pages split)", Unit::mb);
    return report;
}

}  // namespace kmsdk::bench

// SPDX-License-Identifier: GPL-2.0
#include "snapshot_session.hpp"

#include "kmsdk/cache.hpp"
#include "qmp.hpp"
#include "snapshot_eviction.hpp"
#include "snapshot_ram.hpp"
#include "text.hpp"

#include <fmt/format.h>

#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <thread>

namespace kmsdk::detail {
namespace {

// Which file is at `path` now (inode and change time), so that one found
// broken is not tried again until it is replaced.
std::string file_identity(const std::filesystem::path& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return {};
    return fmt::format("{}:{}.{}", st.st_ino, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

std::chrono::milliseconds ms(std::chrono::nanoseconds duration)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(duration);
}

// Both ends of a snapshot's migration: RAM in a file is not in the stream.
nlohmann::json ignore_shared_ram()
{
    return {{"capabilities",
             nlohmann::json::array({{{"capability", "x-ignore-shared"}, {"state", true}}})}};
}

}  // namespace

SnapshotSession::SnapshotSession(const MachineConfig& config, const std::filesystem::path& dir,
                                 Notice notice)
    : notice_{std::move(notice)}
{
    auto slot = ContentHash{}.add(config.memory_mb).add(config.accel).add(config.kernel_cmdline);
    // One CPU, the default, leaves the hash as it was before CPUs counted.
    if (config.cpus != 1)
        slot.add(fmt::format("cpus={}", config.cpus));
    std::string devices;
    for (const auto& device : config.devices) {
        slot.add(device);
        devices += (devices.empty() ? "" : " ") + device;
    }
    path_ = dir / fmt::format("m{}-{}{}", config.memory_mb, slot.hex().substr(0, 12),
                              snapshot_suffix);
    key_ = ContentHash{}.add(machine_identity(config)).hex();
    machine_ = fmt::format("{} MiB, {}{}, devices: {}", config.memory_mb,
                           config.cpus == 1 ? "" : fmt::format("{} CPUs, ", config.cpus),
                           config.accel, devices.empty() ? "none" : devices);
}

SnapshotSession SnapshotSession::staged(std::string_view staging, std::uint64_t limit) const
{
    SnapshotSession staged;
    staged.path_ = path_.parent_path() / staged_folder_name /
                   fmt::format("{}-{}{}", path_.stem().string(), staging.substr(0, 16), snapshot_suffix);
    staged.key_ = ContentHash{}.add(key_).add(staging).hex();
    staged.machine_ = fmt::format("{}, staged {}", machine_, staging.substr(0, 16));
    staged.disk_limit_ = limit;
    staged.notice_ = notice_;
    return staged;
}

void SnapshotSession::unusable(std::string why)
{
    auto identity = file_identity(path_);
    if (identity == reported_broken_)
        return;
    reported_broken_ = identity;
    // A staged snapshot goes stale with its snapshot, which said so.
    if (disk_limit_ && why.starts_with(stale_prefix))
        return;
    notice_(fmt::format("the {}snapshot {} is {}; {} and replacing it", disk_limit_ ? "staged " : "",
                        path_.string(), one_line(std::move(why)),
                        disk_limit_ ? "staging again" : "booting cold"));
}

std::optional<Machine> SnapshotSession::restore(const MachineConfig& base,
                                                std::chrono::milliseconds timeout,
                                                const WaitCheck& check, Making* into)
{
    if (!reported_broken_.empty() && file_identity(path_) == reported_broken_)
        return std::nullopt;
    std::optional<SnapshotFile> file;
    try {
        file = open_snapshot(path_, key_);
    } catch (const SnapshotBroken& broken) {
        unusable(broken.what());
        return std::nullopt;
    }
    if (!file)
        return std::nullopt;

    auto config = base;
    config.ram_file = file->ram;
    config.ram_shared = false;
    if (into && into->writer) {
        try {
            copy_ram(file->ram, into->writer->ram(), file->header.ram_bytes);
            config.ram_file = into->config.ram_file;
            config.ram_shared = true;
        } catch (const std::exception& error) {
            into->writer.reset();
            notice_(fmt::format("could not save a staged snapshot ({}); going on without one",
                                one_line(error.what())));
        }
    }
    config.incoming_fd = file->fd.get();
    auto qemu = launch(config);
    Deadline deadline{timeout};
    std::string why;
    try {
        auto qmp = Qmp::connect(config.qmp_socket, deadline);
        qmp.execute("migrate-set-capabilities", ignore_shared_ram(), deadline);
        qmp.execute("migrate-incoming", {{"uri", incoming_uri()}}, deadline);
        std::string state;
        while ((state = qmp.execute("query-status", deadline).value("status", "")) == "inmigrate") {
            check();
            if (deadline.expired())
                throw std::runtime_error(
                    fmt::format("QEMU was still loading it after {}", seconds(timeout)));
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        if (state != "paused")
            why = fmt::format("not loadable: QEMU is {} after loading it", state);
        else {
            qmp.execute("cont", deadline);
            auto started = await_agent(std::move(qemu), config, deadline, check);
            if (started) {
                // Restores are what keeps a staged snapshot from eviction.
                if (disk_limit_)
                    ::utimensat(AT_FDCWD, path_.c_str(), nullptr, 0);
                return started.take();
            }
            why = fmt::format("not usable: the restored guest failed ({})", started.failure().reason);
        }
    } catch (const Interrupted&) {
        throw;
    } catch (const std::exception& error) {
        auto status = qemu.pid() > 0 ? qemu.wait_for(std::chrono::milliseconds(500)) : std::nullopt;
        why = fmt::format("not loadable: {}",
                          status ? qemu_exit_failure(*status, config).reason : error.what());
    }
    unusable(why);
    return std::nullopt;
}

std::optional<SnapshotLock> SnapshotSession::claim(std::chrono::milliseconds patience,
                                                   const WaitCheck& check)
{
    auto lock = SnapshotLock::acquire(path_, Deadline{patience}, check);
    if (!lock)
        notice_(fmt::format("another run has been making the snapshot {} for over {}; "
                            "booting cold without it",
                            path_.string(), seconds(patience)));
    return lock;
}

std::optional<SnapshotSession::Making> SnapshotSession::prepare(const MachineConfig& config)
{
    try {
        Making making{std::make_unique<SnapshotWriter>(path_, std::uint64_t{config.memory_mb} << 20),
                      config};
        making.config.ram_file = making.writer->ram();
        making.config.ram_shared = true;
        return making;
    } catch (const std::exception& error) {
        cannot_save(error.what());
        return std::nullopt;
    }
}

SnapshotSession::Saved SnapshotSession::save(Machine machine, Making making)
{
    auto started = std::chrono::steady_clock::now();
    std::string failure;
    try {
        Deadline deadline{std::chrono::seconds(60)};
        auto qmp = Qmp::connect(making.config.qmp_socket, deadline);
        qmp.execute("stop", deadline);
        try {
            // The RAM is in the snapshot's file already: the stream holds
            // the devices' state and the small RAM blocks (firmware, ROMs).
            qmp.execute("migrate-set-capabilities", ignore_shared_ram(), deadline);
            qmp.pass_fd("snapshot", making.writer->stream_fd(), deadline);
            qmp.execute("migrate", {{"uri", "fd:snapshot"}}, deadline);
            for (;;) {
                auto progress = qmp.execute("query-migrate", deadline);
                auto status = progress.value("status", "");
                if (status == "completed")
                    break;
                if (status == "failed" || status == "cancelled") {
                    failure = progress.value("error-desc", "QEMU's migration " + status);
                    break;
                }
                if (deadline.expired()) {
                    qmp.execute("migrate_cancel", Deadline{std::chrono::seconds(5)});
                    failure = "QEMU had not written it after 60 s";
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        } catch (const std::exception& error) {
            failure = error.what();
        }
        if (!failure.empty()) {
            qmp.execute("cont", Deadline{std::chrono::seconds(5)});
            cannot_save(failure);
            return {std::nullopt, std::move(machine)};
        }
    } catch (const std::exception& error) {
        // No monitor to resume it with: the machine cannot go on.
        cannot_save(error.what());
        return {};
    }
    try {
        // Nothing may write the RAM file once it is the snapshot's.
        machine.qemu.kill();
        auto took = std::chrono::steady_clock::now() - started;
        SnapshotHeader header;
        header.key = key_;
        header.machine = machine_;
        header.created = std::time(nullptr);
        header.save_ms = static_cast<std::uint64_t>(ms(took).count());
        making.writer->commit(std::move(header));
        reported_broken_.clear();
        if (disk_limit_)
            evict_least_recent(path_.parent_path(), *disk_limit_, path_);
        return {std::chrono::steady_clock::now() - started, std::nullopt};
    } catch (const std::exception& error) {
        cannot_save(error.what());
        return {};
    }
}

void SnapshotSession::cannot_save(const std::string& why)
{
    notice_(fmt::format("could not save a snapshot into {} ({}); going on without one",
                        path_.parent_path().string(), one_line(why)));
}

}  // namespace kmsdk::detail

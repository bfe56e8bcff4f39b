// SPDX-License-Identifier: GPL-2.0
#include "kmsdk_cli.hpp"

#include "temp_dir.hpp"
#include "unique_fd.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <memory>
#include <poll.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace kmsdk::test {

using detail::TempDir;
using detail::UniqueFd;

namespace {

// The file's bytes, or "" once it is gone (a /proc entry of a process
// that just exited): unlike kmsdk::read_file, which throws.
std::string read_if_there(const std::filesystem::path& path)
{
    std::ifstream in{path, std::ios::binary};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<char*> pointers(std::vector<std::string>& strings)
{
    std::vector<char*> result;
    result.reserve(strings.size() + 1);
    for (auto& string : strings)
        result.push_back(string.data());
    result.push_back(nullptr);
    return result;
}

// This process's environment with `set` replacing what it has of those
// names, and `marker` added.
std::vector<std::string> environment(const std::vector<std::string>& set, const std::string& marker)
{
    std::vector<std::string> env;
    auto name_of = [](std::string_view var) { return var.substr(0, var.find('=')); };
    for (char** var = ::environ; *var; ++var)
        if (std::none_of(set.begin(), set.end(),
                         [&](const auto& one) { return name_of(one) == name_of(*var); }))
            env.emplace_back(*var);
    env.insert(env.end(), set.begin(), set.end());
    env.push_back(marker);
    return env;
}

std::pair<UniqueFd, UniqueFd> make_pipe()
{
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0)
        throw std::runtime_error(fmt::format("pipe2: {}", std::strerror(errno)));
    return {UniqueFd{ends[0]}, UniqueFd{ends[1]}};
}

int status_of(int wait_status)
{
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

Outcome run_process(std::vector<std::string> argv, const KmsdkRun& how, const std::string& what)
{
    // A write to a stdin pipe kmsdk no longer reads must fail, not kill
    // the suite. (The child gets the default back before it execs.)
    static const bool sigpipe_ignored = [] { return std::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
    REQUIRE(sigpipe_ignored);

    static unsigned runs = 0;
    auto marker = fmt::format("KMSDK_CLI_TEST_RUN={}-{}", ::getpid(), ++runs);
    TempDir dir{"kmsdk-cli-test"};
    auto out_path = dir.path() / "stdout";
    auto err_path = dir.path() / "stderr";

    auto args = pointers(argv);
    auto env_strings = environment(how.env, marker);
    auto env = pointers(env_strings);

    UniqueFd out_file, out_read, out_write, in_read, in_write;
    if (how.on_out) {
        std::tie(out_read, out_write) = make_pipe();
    } else {
        out_file.reset(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        REQUIRE(out_file);
    }
    UniqueFd err_file{::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    REQUIRE(err_file);
    int stdin_fd = how.input_fd;
    UniqueFd null;
    if (how.input) {
        std::tie(in_read, in_write) = make_pipe();
        REQUIRE(::fcntl(in_write.get(), F_SETFL, O_NONBLOCK) == 0);
        stdin_fd = in_read.get();
    } else if (stdin_fd < 0) {
        null.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        REQUIRE(null);
        stdin_fd = null.get();
    }
    int stdout_fd = how.on_out ? out_write.get() : out_file.get();

    Outcome outcome;
    outcome.started = Clock::now();
    pid_t pid = ::fork();
    if (pid == 0) {
        // Its own process group, so that a deadline kills a whole pipeline;
        // signals as a shell would leave them.
        ::setpgid(0, 0);
        std::signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::dup2(stdin_fd, STDIN_FILENO);
        ::dup2(stdout_fd, STDOUT_FILENO);
        ::dup2(err_file.get(), STDERR_FILENO);
        ::execve(args[0], args.data(), env.data());
        ::_exit(127);
    }
    REQUIRE(pid > 0);
    outcome.pid = pid;
    out_write.reset();
    out_file.reset();
    err_file.reset();
    in_read.reset();
    null.reset();

    std::size_t input_sent = 0;
    if (how.input && how.input->empty())
        in_write.reset();
    std::optional<Clock::time_point> signal_at;
    std::string buffer(1 << 18, '\0');
    auto read_out = [&] {
        auto got = ::read(out_read.get(), buffer.data(), buffer.size());
        if (got > 0)
            how.on_out(std::string_view{buffer.data(), static_cast<std::size_t>(got)});
        else if (got == 0 || (errno != EINTR && errno != EAGAIN))
            out_read.reset();
    };

    int wait_status = 0;
    auto until = outcome.started + how.deadline;
    for (;;) {
        std::vector<pollfd> fds;
        if (out_read)
            fds.push_back({out_read.get(), POLLIN, 0});
        if (in_write)
            fds.push_back({in_write.get(), POLLOUT, 0});
        ::poll(fds.data(), fds.size(), 20);
        for (const auto& fd : fds) {
            if (fd.revents == 0)
                continue;
            if (fd.fd == out_read.get()) {
                read_out();
            } else if (fd.fd == in_write.get()) {
                auto rest = std::string_view{*how.input}.substr(input_sent);
                auto wrote = ::write(in_write.get(), rest.data(),
                                     std::min<std::size_t>(rest.size(), 1 << 16));
                if (wrote > 0)
                    input_sent += static_cast<std::size_t>(wrote);
                bool reader_gone = wrote < 0 && errno != EAGAIN && errno != EINTR;
                if (reader_gone || input_sent == how.input->size())
                    in_write.reset();
            }
        }

        if (how.signal != 0 && !outcome.signalled) {
            if (!signal_at && (how.after_err.empty() ||
                               read_if_there(err_path).find(how.after_err) != std::string::npos))
                signal_at = Clock::now() + how.delay;
            if (signal_at && Clock::now() >= *signal_at) {
                REQUIRE(::kill(pid, how.signal) == 0);
                outcome.signalled = Clock::now();
            }
        }

        auto done = ::waitpid(pid, &wait_status, WNOHANG);
        if (done == pid)
            break;
        if (done < 0)
            throw std::runtime_error(fmt::format("waitpid: {}", std::strerror(errno)));
        if (Clock::now() >= until) {
            ::kill(-pid, SIGKILL);
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &wait_status, 0);
            FAIL(fmt::format("{} did not finish in {} s; its stderr:\n{}", what,
                             how.deadline.count(), read_if_there(err_path)));
        }
    }
    outcome.exited = Clock::now();
    outcome.status = status_of(wait_status);
    in_write.reset();

    // What it wrote before it exited, unless something it started keeps
    // the pipe open (which the check of what is left reports).
    while (out_read && Clock::now() < outcome.exited + std::chrono::seconds(2)) {
        pollfd fd{out_read.get(), POLLIN, 0};
        if (::poll(&fd, 1, 50) > 0)
            read_out();
    }
    if (!how.on_out)
        outcome.out = read_if_there(out_path);
    outcome.err = read_if_there(err_path);

    // What it started dies with it (QEMU gets SIGKILL when its parent
    // ends), but not always before waitpid returns: allow a moment.
    outcome.left = processes_marked(marker);
    auto give_up = outcome.exited + std::chrono::seconds(2);
    while (!outcome.left.empty() && Clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        outcome.left = processes_marked(marker);
    }
    outcome.cleanup = Clock::now() - outcome.exited;
    return outcome;
}

void check_nothing_left(const Outcome& outcome, const std::string& what)
{
    INFO(what << "\n" << describe(outcome));
    INFO("still running 2 s after it exited: " << fmt::format("{}", fmt::join(outcome.left, ", ")));
    CHECK(outcome.left.empty());
}

}  // namespace

std::string describe(const Outcome& outcome)
{
    constexpr std::size_t shown = 4096;
    return fmt::format("status {} after {:.2f} s\nstdout ({} bytes):\n{}{}\nstderr:\n{}",
                       outcome.status, seconds(outcome.took()), outcome.out.size(),
                       outcome.out.substr(0, shown), outcome.out.size() > shown ? "..." : "",
                       outcome.err);
}

std::filesystem::path kmsdk_cli()
{
    return KMSDK_CLI_PATH;
}

Outcome run_kmsdk(const std::vector<std::string>& args, const KmsdkRun& how)
{
    std::vector<std::string> argv = {kmsdk_cli().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto what = fmt::format("kmsdk {}", fmt::join(args, " "));
    auto outcome = run_process(std::move(argv), how, what);
    check_nothing_left(outcome, what);
    return outcome;
}

Outcome run_kmsdk_shell(const std::string& line, const KmsdkRun& how)
{
    auto with_path = how;
    with_path.env.push_back("KMSDK_TEST_CLI=" + kmsdk_cli().string());
    std::vector<std::string> argv = {"/bin/sh", "-c",
                                     "kmsdk() { \"$KMSDK_TEST_CLI\" \"$@\"; }\n" + line};
    auto what = fmt::format("sh -c '{}'", line);
    auto outcome = run_process(std::move(argv), with_path, what);
    check_nothing_left(outcome, what);
    return outcome;
}

std::vector<std::string> processes_marked(const std::string& marker)
{
    std::vector<std::string> found;
    std::unique_ptr<DIR, int (*)(DIR*)> proc{::opendir("/proc"), ::closedir};
    if (!proc)
        throw std::runtime_error(fmt::format("cannot list /proc: {}", std::strerror(errno)));
    while (auto* entry = ::readdir(proc.get())) {
        char* end = nullptr;
        auto pid = std::strtol(entry->d_name, &end, 10);
        if (*end != '\0' || pid <= 0)
            continue;
        auto environ = read_if_there(fmt::format("/proc/{}/environ", pid));
        std::string_view vars{environ};
        bool marked = false;
        while (!vars.empty() && !marked) {
            auto var = vars.substr(0, vars.find('\0'));
            marked = var == marker;
            vars.remove_prefix(std::min(vars.size(), var.size() + 1));
        }
        if (marked)
            found.push_back(
                fmt::format("{} {}", pid, read_if_there(fmt::format("/proc/{}/comm", pid))));
    }
    return found;
}

std::vector<std::filesystem::path> guest_folders_of(pid_t pid)
{
    std::vector<std::filesystem::path> found;
    auto prefix = fmt::format("kmsdk-guest-{}-", pid);
    std::error_code error;
    for (const auto& entry :
         std::filesystem::directory_iterator{std::filesystem::temp_directory_path(), error})
        if (entry.path().filename().string().starts_with(prefix))
            found.push_back(entry.path());
    return found;
}

double seconds(Clock::duration duration)
{
    return std::chrono::duration<double>(duration).count();
}

}  // namespace kmsdk::test

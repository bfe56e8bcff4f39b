// SPDX-License-Identifier: GPL-2.0
//
// kmsdk-agent: PID 1 of a kmsdk guest. It brings the guest up (file
// systems, the channel's modules, the virtio-serial port), says Hello, then
// serves the host's requests one at a time for the guest's whole life.
//
// PID 1 must never exit: the kernel panics when it does. So every request
// runs inside a catch-all that turns failures into Error replies, and the
// agent's own problems go to the kernel log.
#include "channel.hpp"
#include "init_setup.hpp"
#include "log.hpp"
#include "process.hpp"
#include "requests.hpp"
#include "system.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <new>
#include <optional>

namespace kmsdk::agent {
namespace {

using proto::Type;

// How long to wait for the port after loading the channel's modules.
constexpr int port_wait_ms = 10'000;
// The Hello sent on start is for a host already connected; a host that
// connects later pings.
constexpr int startup_hello_timeout_ms = 1'000;
// The main loop wakes at least this often to reap orphans.
constexpr int idle_wakeup_ms = 1'000;

proto::Frame error_reply(std::uint32_t id, int error, std::string message)
{
    return proto::frame(id, proto::Error{error, std::move(message)});
}

template <class Request, class Handler>
proto::Frame answer(const proto::Frame& request, Handler handler)
{
    return proto::frame(request.id, handler(proto::decode<Request>(request)));
}

// The reply to a request; nullopt when there is none to send (Run sends its
// own frames).
std::optional<proto::Frame> handle(Channel& channel, const proto::Frame& request)
{
    switch (request.type) {
    case Type::Ping:
        proto::decode<proto::Ping>(request);
        return proto::frame(request.id, hello());
    case Type::Run:
        serve_run(channel, request.id, proto::decode<proto::Run>(request));
        return std::nullopt;
    case Type::PutFile: return answer<proto::PutFile>(request, put_file);
    case Type::GetFile: return answer<proto::GetFile>(request, get_file);
    case Type::Insmod: return answer<proto::Insmod>(request, insert_module);
    case Type::Rmmod: return answer<proto::Rmmod>(request, remove_module);
    case Type::BootPass:
        return answer<proto::BootPass>(request, [](const proto::BootPass&) { return boot_pass(); });
    case Type::ReadKernelLog: return answer<proto::ReadKernelLog>(request, read_kernel_log);
    case Type::Resume: return answer<proto::Resume>(request, resume);
    case Type::Shutdown:
        proto::decode<proto::Shutdown>(request);
        channel.send(proto::frame(request.id, proto::Ok{}));
        power_off();
    // Not requests: the stream of a Run that has ended, which the host may
    // still have had in flight when Exited reached it.
    case Type::Input:
    case Type::Window:
    case Type::Signal:
        return std::nullopt;
    default:
        return error_reply(request.id, EINVAL, "unknown request " + proto::type_name(request.type));
    }
}

void serve(Channel& channel, const proto::Frame& request)
{
    const std::string what = proto::type_name(request.type);
    std::optional<proto::Frame> reply;
    try {
        reply = handle(channel, request);
        if (reply && reply->payload.size() > proto::max_payload)
            reply = error_reply(request.id, EFBIG,
                                "the reply to " + what + " would be " +
                                    std::to_string(reply->payload.size()) +
                                    " bytes, over the protocol's limit");
    } catch (const RequestError& error) {
        reply = error_reply(request.id, error.error(), error.what());
    } catch (const proto::ProtocolError& error) {
        reply = error_reply(request.id, EINVAL, "malformed " + what + " request: " + error.what());
    } catch (const std::bad_alloc&) {
        reply = error_reply(request.id, ENOMEM, "out of memory serving " + what);
    } catch (const std::exception& error) {
        reply = error_reply(request.id, EIO, what + " failed: " + error.what());
    }
    if (reply)
        channel.send(*reply);
}

[[noreturn]] void serve_forever(Channel& channel)
{
    for (;;) {
        try {
            if (auto request = channel.receive(idle_wakeup_ms))
                serve(channel, *request);
        } catch (const std::exception& error) {
            log_problem(std::string{"while serving: "} + error.what());
        }
        reap_orphans();
        act_on_power_signals();
    }
}

}  // namespace
}  // namespace kmsdk::agent

int main()
{
    using namespace kmsdk::agent;

    // It mounts, powers off and adopts orphans: only ever as a guest's init.
    if (::getpid() != 1) {
        std::fprintf(stderr,
                     "kmsdk-agent: this is the /init of a kmsdk guest's initramfs, "
                     "not a program to run here (it would power the machine off)\n");
        return 2;
    }

    prepare_pid1_environment();
    load_channel_modules();

    std::optional<Channel> channel;
    try {
        channel.emplace(Channel::open_port(port_wait_ms));
    } catch (const std::exception& error) {
        log_problem(error.what());
        say_on_console(std::string{"kmsdk-agent: "} + error.what() + "; powering off");
        power_off();
    }
    log_note("serving on " + channel->device());
    try {
        read_boot_log();
    } catch (const std::exception& error) {
        log_problem(error.what());  // the host's first ReadKernelLog says it again
    }
    // Said before Hello: the host may save the machine as soon as Hello
    // arrives, and the console must be quiet by then.
    say_on_console("kmsdk-agent: ready");
    if (!channel->send(kmsdk::proto::frame(0, hello()), startup_hello_timeout_ms, false))
        log_note("no host connected yet; it gets Hello when it sends Ping");
    serve_forever(*channel);
}

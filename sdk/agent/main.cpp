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

Reply error_reply(int error, const std::string& message)
{
    return Reply{Type::Error, proto::PayloadWriter{}.i32(error).bytes(message).take()};
}

Reply handle(Channel& channel, const proto::Frame& request, bool& session_served)
{
    proto::PayloadReader fields{request.payload};
    switch (request.type) {
    case Type::Ping: return Reply{Type::Hello, hello_payload()};
    case Type::Run: return run_command(fields);
    case Type::PutFile: return put_file(fields);
    case Type::GetFile: return get_file(fields);
    case Type::Insmod: return insert_module(fields);
    case Type::Rmmod: return remove_module(fields);
    case Type::BootPass: return boot_pass();
    case Type::ReadKernelLog: return read_kernel_log(fields);
    case Type::Resume: return resume(fields);
    case Type::PtyOpen:
        serve_pty_session(channel, request.id, fields);
        session_served = true;
        return {};
    case Type::Shutdown:
        channel.send({Type::Ok, request.id, {}});
        power_off();
    default:
        return error_reply(EINVAL, "unknown request type " +
                                       std::to_string(static_cast<unsigned>(request.type)));
    }
}

void serve(Channel& channel, const proto::Frame& request)
{
    const std::string what = proto::type_name(request.type);
    Reply reply;
    try {
        bool session_served = false;
        reply = handle(channel, request, session_served);
        if (session_served)
            return;  // the session sent its own frames
        if (reply.payload.size() > proto::max_payload)
            reply = error_reply(EFBIG, "the reply to " + what + " would be " +
                                           std::to_string(reply.payload.size()) +
                                           " bytes, over the protocol's limit");
    } catch (const RequestError& error) {
        reply = error_reply(error.error(), error.what());
    } catch (const proto::ProtocolError& error) {
        reply = error_reply(EINVAL, "malformed " + what + " request: " + error.what());
    } catch (const std::bad_alloc&) {
        reply = error_reply(ENOMEM, "out of memory serving " + what);
    } catch (const std::exception& error) {
        reply = error_reply(EIO, what + " failed: " + error.what());
    }
    channel.send({reply.type, request.id, std::move(reply.payload)});
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
    if (!channel->send({kmsdk::proto::Type::Hello, 0, hello_payload()}, startup_hello_timeout_ms,
                       false))
        log_note("no host connected yet; it gets Hello when it sends Ping");
    say_on_console("kmsdk-agent: ready");
    serve_forever(*channel);
}

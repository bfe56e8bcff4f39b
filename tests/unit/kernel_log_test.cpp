// SPDX-License-Identifier: GPL-2.0
// The health check's reading of the guest kernel's log: records as the agent
// sends them (/dev/kmsg lines), text as the serial console captured it, and
// the reports the kernel prints when something goes wrong. The samples
// follow what x86-64 6.1 and 6.12 print (arch/x86/mm/fault.c,
// arch/x86/kernel/dumpstack.c, kernel/panic.c, kernel/watchdog.c,
// kernel/hung_task.c), with the kmsdk test modules as culprits.
#include "kmsdk/kernel_log.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

using kmsdk::KernelLogRecord;
using kmsdk::KernelProblem;
using Kind = KernelProblem::Kind;

namespace {

bool has_line(const std::vector<std::string>& lines, const std::string& part)
{
    return std::any_of(lines.begin(), lines.end(),
                       [&](const auto& line) { return line.find(part) != std::string::npos; });
}

// 6.1: `echo 1 > /dev/kms_fault_oops`, as the agent reads /dev/kmsg.
const char* const oops_6_1_kmsg = R"(6,800,25101200,-;kms_fault_oops: writing through a NULL pointer now
1,801,25123456,-;BUG: kernel NULL pointer dereference, address: 0000000000000000
1,802,25123470,-;#PF: supervisor write access in kernel mode
1,803,25123478,-;#PF: error_code(0x0002) - not-present page
6,804,25123485,-;PGD 0 P4D 0 
4,805,25123497,-;Oops: 0002 [#1] PREEMPT SMP PTI
4,806,25123510,-;CPU: 1 PID: 97 Comm: sh Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-2
4,807,25123518,-;Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 0.0.0 02/06/2015
4,808,25123530,-;RIP: 0010:kms_fault_oops_poke+0x5/0x10 [kms_fault_oops]
4,809,25123545,-;Code: cc cc cc cc cc cc cc cc cc cc cc cc cc cc cc cc 0f 1f 44 00 00 <c7> 07 01 00 00 00 c3 cc cc cc cc 66 0f 1f 84 00 00 00 00 00 0f 1f
4,810,25123551,-;RSP: 0018:ffffb5c2c023fe18 EFLAGS: 00010246
4,811,25123560,-;RAX: 000000000000002c RBX: 0000000000000002 RCX: 0000000000000000
4,812,25123566,-;RDX: 0000000000000000 RSI: ffffffffb4b7c6d5 RDI: 0000000000000000
4,813,25123572,-;RBP: ffff9c8e02a3e400 R08: 0000000000000000 R09: ffffb5c2c023fcb8
4,814,25123578,-;R10: 0000000000000003 R11: ffffffffb5ed3f28 R12: 0000559a5a6d4c30
4,815,25123584,-;R13: 0000000000000002 R14: ffffb5c2c023ff08 R15: 0000000000000000
4,816,25123590,-;FS:  00007f3c9e2ab740(0000) GS:ffff9c8e3ec80000(0000) knlGS:0000000000000000
4,817,25123596,-;CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033
4,818,25123602,-;CR2: 0000000000000000 CR3: 0000000002ace000 CR4: 00000000000006e0
4,819,25123608,-;Call Trace:
4,820,25123612,-; <TASK>
4,821,25123618,-; kms_fault_oops_write+0x2a/0x40 [kms_fault_oops]
4,822,25123624,-; vfs_write+0xb9/0x3f0
4,823,25123630,-; ? handle_mm_fault+0xdb/0x2d0
4,824,25123636,-; ksys_write+0x6b/0xf0
4,825,25123642,-; do_syscall_64+0x55/0xb0
4,826,25123648,-; entry_SYSCALL_64_after_hwframe+0x6e/0xd8
4,827,25123654,-;RIP: 0033:0x7f3c9e3a1130
4,828,25123660,-;Code: 00 48 8b 15 e9 4c 0d 00 f7 d8 64 89 02 48 c7 c0 ff ff ff ff eb b7 0f 1f 00 80 3d 91 d4 0d 00 00 74 17 b8 01 00 00 00 0f 05 <48> 3d 00 f0 ff ff 77 58 c3 0f 1f 80 00 00 00 00 48 83 ec 28 48 89
4,829,25123666,-;RSP: 002b:00007ffd4a3f1b08 EFLAGS: 00000202 ORIG_RAX: 0000000000000001
4,830,25123672,-;RAX: ffffffffffffffda RBX: 0000000000000002 RCX: 00007f3c9e3a1130
4,831,25123678,-;RDX: 0000000000000002 RSI: 0000559a5a6d4c30 RDI: 0000000000000001
4,832,25123684,-;RBP: 0000559a5a6d4c30 R08: 0000000000000000 R09: 0000000000000000
4,833,25123690,-;R10: 0000000000000000 R11: 0000000000000202 R12: 0000000000000002
4,834,25123696,-;R13: 00007f3c9e47b6a0 R14: 0000000000000002 R15: 00007f3c9e4769e0
4,835,25123702,-; </TASK>
4,836,25123708,-;Modules linked in: kms_fault_oops(OE) virtio_console virtio_pci virtio_pci_legacy_dev virtio_pci_modern_dev virtio virtio_ring
4,837,25123714,-;CR2: 0000000000000000
4,838,25123720,-;---[ end trace 0000000000000000 ]---
4,839,25123726,-;RIP: 0010:kms_fault_oops_poke+0x5/0x10 [kms_fault_oops]
4,840,25123732,-;Code: cc cc cc cc cc cc cc cc cc cc cc cc cc cc cc cc 0f 1f 44 00 00 <c7> 07 01 00 00 00 c3 cc cc cc cc 66 0f 1f 84 00 00 00 00 00 0f 1f
4,841,25123738,-;RSP: 0018:ffffb5c2c023fe18 EFLAGS: 00010246
4,842,25123744,-;CR2: 0000000000000000 CR3: 0000000002ace000 CR4: 00000000000006e0
)";

// 6.12, the same Oops as the serial console shows it: "Oops: Oops:", the
// UID in the CPU line, the verbose taint line, "? " frames, \r\n line ends.
const char* const oops_6_12_console =
    "[   25.123456] BUG: kernel NULL pointer dereference, address: 0000000000000000\r\n"
    "[   25.123470] #PF: supervisor write access in kernel mode\r\n"
    "[   25.123478] #PF: error_code(0x0002) - not-present page\r\n"
    "[   25.123485] PGD 0 P4D 0 \r\n"
    "[   25.123497] Oops: Oops: 0002 [#1] PREEMPT SMP PTI\r\n"
    "[   25.123510] CPU: 1 UID: 0 PID: 97 Comm: sh Tainted: G           OE      "
    "6.12.117+deb12-amd64 #1  Debian 6.12.117-1~deb12u1\r\n"
    "[   25.123512] Tainted: [O]=OOT_MODULE, [E]=UNSIGNED_MODULE\r\n"
    "[   25.123518] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 0.0.0 02/06/2015\r\n"
    "[   25.123530] RIP: 0010:kms_fault_oops_poke+0x5/0x10 [kms_fault_oops]\r\n"
    "[   25.123545] Code: cc cc cc cc 0f 1f 44 00 00 <c7> 07 01 00 00 00 c3 cc cc\r\n"
    "[   25.123551] RSP: 0018:ffffb5c2c023fe18 EFLAGS: 00010246\r\n"
    "[   25.123560] RAX: 000000000000002c RBX: 0000000000000002 RCX: 0000000000000000\r\n"
    "[   25.123608] Call Trace:\r\n"
    "[   25.123612]  <TASK>\r\n"
    "[   25.123614]  ? __die+0x23/0x70\r\n"
    "[   25.123615]  ? page_fault_oops+0x171/0x4e0\r\n"
    "[   25.123616]  ? exc_page_fault+0x7f/0x180\r\n"
    "[   25.123617]  ? asm_exc_page_fault+0x26/0x30\r\n"
    "[   25.123618]  kms_fault_oops_write+0x2a/0x40 [kms_fault_oops]\r\n"
    "[   25.123622]  vfs_write+0xfc/0x470\r\n"
    "[   25.123636]  ksys_write+0x6d/0xf0\r\n"
    "[   25.123642]  do_syscall_64+0x82/0x190\r\n"
    "[   25.123648]  entry_SYSCALL_64_after_hwframe+0x76/0x7e\r\n"
    "[   25.123654] RIP: 0033:0x7f3c9e3a1130\r\n"
    "[   25.123702]  </TASK>\r\n"
    "[   25.123708] Modules linked in: kms_fault_oops(OE) virtio_console virtio_pci\r\n"
    "[   25.123714] CR2: 0000000000000000\r\n"
    "[   25.123720] ---[ end trace 0000000000000000 ]---\r\n"
    "[   25.123726] RIP: 0010:kms_fault_oops_poke+0x5/0x10 [kms_fault_oops]\r\n"
    "[   25.123742] CR2: 0000000000000000 CR3: 0000000002ace000 CR4: 00000000000006e0\r\n";

// 6.12, WARN() in kms_fault_warn's init, from the console.
const char* const warn_6_12_console = R"([   31.402511] ------------[ cut here ]------------
[   31.402530] kms_fault_warn: warning on purpose; the module still loads
[   31.402699] WARNING: CPU: 0 PID: 101 at /work/main/build/tests/kmodules/kms_fault_warn/kbuild/6.12.117+deb12-amd64/kms_fault_warn/kms_fault_warn.c:23 kms_fault_warn_init+0x1c/0xff0 [kms_fault_warn]
[   31.403100] Modules linked in: kms_fault_warn(OE+) virtio_console virtio_pci virtio_pci_legacy_dev virtio_pci_modern_dev virtio virtio_ring
[   31.403500] CPU: 0 UID: 0 PID: 101 Comm: insmod Tainted: G           OE      6.12.117+deb12-amd64 #1  Debian 6.12.117-1~deb12u1
[   31.403700] Tainted: [O]=OOT_MODULE, [E]=UNSIGNED_MODULE
[   31.403800] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 0.0.0 02/06/2015
[   31.404000] RIP: 0010:kms_fault_warn_init+0x1c/0xff0 [kms_fault_warn]
[   31.404100] Code: 90 90 90 90 90 90 90 90 90 90 90 f3 0f 1e fa 0f 1f 44 00 00 48 c7 c7 b0 30 a4 c0 e8 6f 14 95 f3 <0f> 0b 31 c0 c3 cc cc cc cc
[   31.404200] RSP: 0018:ffffb24e4033fb48 EFLAGS: 00010246
[   31.404300] RAX: 0000000000000000 RBX: 0000000000000000 RCX: 0000000000000000
[   31.405000] Call Trace:
[   31.405010]  <TASK>
[   31.405020]  ? __warn+0x89/0x130
[   31.405030]  ? kms_fault_warn_init+0x1c/0xff0 [kms_fault_warn]
[   31.405040]  ? report_bug+0x164/0x190
[   31.405050]  ? handle_bug+0x58/0x90
[   31.405060]  ? exc_invalid_op+0x17/0x70
[   31.405070]  ? asm_exc_invalid_op+0x1a/0x20
[   31.405080]  ? __pfx_kms_fault_warn_init+0x10/0x10 [kms_fault_warn]
[   31.405090]  do_one_initcall+0x58/0x310
[   31.405100]  do_init_module+0x60/0x230
[   31.405110]  init_module_from_file+0x89/0xe0
[   31.405120]  idempotent_init_module+0x11e/0x310
[   31.405130]  __x64_sys_finit_module+0x5e/0xb0
[   31.405140]  do_syscall_64+0x82/0x190
[   31.405150]  entry_SYSCALL_64_after_hwframe+0x76/0x7e
[   31.405160] RIP: 0033:0x7f9b4f6b1779
[   31.405170] RSP: 002b:00007ffc87a5e378 EFLAGS: 00000246 ORIG_RAX: 0000000000000139
[   31.405300]  </TASK>
[   31.405400] ---[ end trace 0000000000000000 ]---
[   31.405900] kms_fault_warn: loaded
)";

// 6.1, a module spinning in its init with preemption off, as kmsg records
// in the agent's short form; a later, healthy line must stay out of it.
const char* const soft_lockup_6_1_kmsg = R"(0,900,48211562;watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [insmod:120]
4,901,48211570;Modules linked in: kms_spin(OE+) virtio_console virtio_pci virtio_pci_legacy_dev virtio_pci_modern_dev virtio virtio_ring
4,902,48211580;CPU: 1 PID: 120 Comm: insmod Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-2
4,903,48211590;Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 0.0.0 02/06/2015
4,904,48211600;RIP: 0010:kms_spin_init+0x11/0x1000 [kms_spin]
4,905,48211610;Code: Unable to access opcode bytes at 0xffffffffc0a42fe7.
4,906,48211620;RSP: 0018:ffffb5c2c0257d70 EFLAGS: 00000246
4,907,48211630;RAX: 0000000000000000 RBX: 0000000000000000 RCX: 0000000000000000
4,908,48211640;Call Trace:
4,909,48211650; <TASK>
4,910,48211660; do_one_initcall+0x5b/0x220
4,911,48211670; do_init_module+0x4a/0x1f0
4,912,48211680; __do_sys_finit_module+0xac/0x120
4,913,48211690; do_syscall_64+0x55/0xb0
4,914,48211700; entry_SYSCALL_64_after_hwframe+0x6e/0xd8
4,915,48211710;RIP: 0033:0x7f0c1d2b1779
4,916,48211720;RSP: 002b:00007ffe3b1c29f8 EFLAGS: 00000246 ORIG_RAX: 0000000000000139
4,917,48211730; </TASK>
6,918,52000000;kms_hello: hello, world
6,919,52000010; not_a_frame_of_the_lockup+0x1/0x2
)";

// 6.1, panic() called by a module.
const char* const panic_6_1_console = R"([   60.000000] Kernel panic - not syncing: kms_panic: panic on purpose
[   60.000100] CPU: 0 PID: 130 Comm: insmod Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-2
[   60.000200] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 0.0.0 02/06/2015
[   60.000300] Call Trace:
[   60.000310]  <TASK>
[   60.000320]  dump_stack_lvl+0x44/0x5c
[   60.000330]  panic+0x118/0x2f4
[   60.000340]  kms_panic_init+0x15/0x1000 [kms_panic]
[   60.000350]  do_one_initcall+0x5b/0x220
[   60.000360]  do_init_module+0x4a/0x1f0
[   60.000400]  </TASK>
[   60.000500] Kernel Offset: 0x2a000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)
[   60.000600] ---[ end Kernel panic - not syncing: kms_panic: panic on purpose ]---
)";

// 6.12, a use of a poisoned list pointer in a work item, with panic_on_oops.
const char* const gp_panic_6_12_console = R"([   70.100000] Oops: general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP PTI
[   70.100010] CPU: 0 UID: 0 PID: 88 Comm: kworker/0:2 Tainted: G           OE      6.12.117+deb12-amd64 #1  Debian 6.12.117-1~deb12u1
[   70.100020] Tainted: [O]=OOT_MODULE, [E]=UNSIGNED_MODULE
[   70.100030] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 0.0.0 02/06/2015
[   70.100040] Workqueue: events kms_list_work [kms_list]
[   70.100050] RIP: 0010:kms_list_work+0x2a/0x40 [kms_list]
[   70.100060] Code: 48 8b 47 08 48 8b 17 <48> 89 42 08 48 89 10 c3 cc cc cc cc
[   70.100070] RSP: 0018:ffffb24e40097e70 EFLAGS: 00010246
[   70.100080] Call Trace:
[   70.100090]  <TASK>
[   70.100100]  ? __die_body.cold+0x19/0x27
[   70.100110]  ? die_addr+0x3c/0x60
[   70.100120]  ? exc_general_protection+0x17c/0x400
[   70.100130]  ? asm_exc_general_protection+0x26/0x30
[   70.100140]  ? kms_list_work+0x2a/0x40 [kms_list]
[   70.100150]  process_one_work+0x179/0x390
[   70.100160]  worker_thread+0x251/0x360
[   70.100170]  ? __pfx_worker_thread+0x10/0x10
[   70.100180]  kthread+0xd2/0x100
[   70.100190]  ? __pfx_kthread+0x10/0x10
[   70.100200]  ret_from_fork+0x34/0x50
[   70.100210]  ? __pfx_kthread+0x10/0x10
[   70.100220]  ret_from_fork_asm+0x1a/0x30
[   70.100230]  </TASK>
[   70.100240] Modules linked in: kms_list(OE) virtio_console virtio_pci
[   70.100250] ---[ end trace 0000000000000000 ]---
[   70.100260] RIP: 0010:kms_list_work+0x2a/0x40 [kms_list]
[   70.100270] Code: 48 8b 47 08 48 8b 17 <48> 89 42 08 48 89 10 c3 cc cc cc cc
[   70.100280] Kernel panic - not syncing: Fatal exception
[   70.100290] Kernel Offset: 0x2a000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)
[   70.100300] ---[ end Kernel panic - not syncing: Fatal exception ]---
)";

// 6.1, BUG_ON() in a module's init.
const char* const bug_on_6_1_console = R"([   80.000000] kernel BUG at /work/main/build/kms_x/kms_x.c:14!
[   80.000010] invalid opcode: 0000 [#1] PREEMPT SMP PTI
[   80.000020] CPU: 1 PID: 140 Comm: insmod Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-2
[   80.000030] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 0.0.0 02/06/2015
[   80.000040] RIP: 0010:kms_x_init+0x5/0x1000 [kms_x]
[   80.000050] Call Trace:
[   80.000060]  <TASK>
[   80.000070]  do_one_initcall+0x5b/0x220
[   80.000080]  do_init_module+0x4a/0x1f0
[   80.000090]  </TASK>
[   80.000100] Modules linked in: kms_x(OE+)
[   80.000110] ---[ end trace 0000000000000000 ]---
)";

// 6.1, kms_fault_hang's insmod after hung_task_timeout_secs. The unwinder
// cannot name one address (the module's init section), as seen in a guest.
const char* const hung_task_6_1_kmsg = R"(3,1000,123456789,-;INFO: task insmod:99 blocked for more than 120 seconds.
3,1001,123456800,-;      Tainted: G           OE      6.1.0-56-amd64 #1 Debian 6.1.192-2
3,1002,123456810,-;"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
6,1003,123456820,-;task:insmod          state:D stack:0     pid:99    ppid:91     flags:0x00004002
6,1004,123456830,-;Call Trace:
6,1005,123456840,-; <TASK>
6,1006,123456850,-; __schedule+0x351/0xa20
6,1007,123456860,-; schedule+0x5d/0xe0
6,1008,123456870,-; schedule_timeout+0x118/0x150
6,1009,123456880,-; __wait_for_common+0x90/0x1d0
6,1010,123456885,-; ? 0xffffffffc0219000
6,1010,123456890,-; kms_fault_hang_init+0x2b/0x1000 [kms_fault_hang]
6,1011,123456900,-; do_one_initcall+0x5b/0x220
6,1012,123456910,-; do_init_module+0x4a/0x1f0
6,1013,123456920,-; __do_sys_finit_module+0xac/0x120
6,1014,123456930,-; do_syscall_64+0x55/0xb0
6,1015,123456940,-; entry_SYSCALL_64_after_hwframe+0x6e/0xd8
6,1016,123456950,-; </TASK>
)";

// 6.12, an RCU stall detected by the CPU that is stuck.
const char* const rcu_stall_6_12_kmsg = R"(3,1100,90000000,-;rcu: INFO: rcu_preempt self-detected stall on CPU
3,1101,90000010,-;rcu: 	1-....: (20999 ticks this GP) idle=8b4c/1/0x4000000000000000 softirq=1432/1432 fqs=5249
3,1102,90000020,-;rcu: 	(t=21000 jiffies g=2733 q=145 ncpus=2)
4,1103,90000030,-;CPU: 1 UID: 0 PID: 150 Comm: insmod Tainted: G           OEL     6.12.117+deb12-amd64 #1  Debian 6.12.117-1~deb12u1
4,1104,90000040,-;Tainted: [O]=OOT_MODULE, [E]=UNSIGNED_MODULE, [L]=SOFTLOCKUP
4,1105,90000050,-;Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 0.0.0 02/06/2015
4,1106,90000060,-;RIP: 0010:kms_spin_init+0x11/0x1000 [kms_spin]
4,1107,90000070,-;Call Trace:
4,1108,90000080,-; <IRQ>
4,1109,90000090,-; ? rcu_dump_cpu_stacks+0xc7/0x100
4,1110,90000100,-; ? rcu_sched_clock_irq+0x4f2/0x1180
4,1111,90000110,-; </IRQ>
4,1112,90000120,-; <TASK>
4,1113,90000130,-; ? kms_spin_init+0x11/0x1000 [kms_spin]
4,1114,90000140,-; do_one_initcall+0x58/0x310
4,1115,90000150,-; do_init_module+0x60/0x230
4,1116,90000160,-; </TASK>
)";

// A healthy boot and module load: taint notices, mitigation "WARNING"s,
// the printk sample's emergency-level lines, user space in /dev/kmsg.
const char* const clean_kmsg = R"(5,0,0,-;Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2
3,120,61000,-;RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!
4,400,1700000,-;kms_hello: loading out-of-tree module taints kernel.
4,401,1700100,-;kms_hello: module verification failed: signature and/or required key missing - tainting kernel
6,402,1700200,-;kms_hello: hello, world
0,403,1800000,-;kms_printk: load: level 0 (KERN_EMERG)
2,404,1800010,-;kms_printk: load: level 2 (KERN_CRIT)
12,405,1900000,-;BUG: what user space wrote to /dev/kmsg
6,406,1900010,-;BUG: an info-level message is no report
6,407,2000000,-;kms_hello: goodbye, world
)";

}  // namespace

TEST_CASE("agent records parse as /dev/kmsg gives them", "[kernel_log]")
{
    auto records = kmsdk::parse_kmsg(
        "6,339,5140900,-;NET: Registered PF_INET6 protocol family\n"
        " SUBSYSTEM=net\n"
        " DEVICE=+net:lo\n"
        "4,340,5141000;short form\n"
        "30,341,5141100,-,caller=T1;daemon facility\n"
        "3,342,5141200,c;two\\x0alines and a \\x5c backslash\\x09tab\n"
        "not a record\n"
        "6,343,5141300,-;");
    REQUIRE(records.size() == 6);
    CHECK(records[0].level == 6);
    CHECK(records[0].facility == 0);
    CHECK(records[0].seq == 339);
    CHECK(records[0].usec == 5140900);
    CHECK(records[0].text == "NET: Registered PF_INET6 protocol family");
    CHECK(records[1].level == 4);
    CHECK(records[1].text == "short form");
    CHECK(records[2].level == 6);  // 30 = daemon (3) * 8 + 6
    CHECK(records[2].facility == 3);
    CHECK(records[3].text == "two\nlines and a \\ backslash\ttab");
    CHECK(records[4].level == -1);
    CHECK(records[4].text == "not a record");
    CHECK(records[5].text.empty());
}

TEST_CASE("records print as dmesg prints them", "[kernel_log]")
{
    std::vector<KernelLogRecord> records = {
        {6, 1, 0, "Linux version 6.1.0-56-amd64"},
        {6, 2, 12345678, "kms_hello: hello, world"},
        {4, 3, 123456000001, "late"},
        {-1, 4, kmsdk::no_timestamp, "no time"},
    };
    CHECK(kmsdk::format_dmesg(records) ==
          "[    0.000000] Linux version 6.1.0-56-amd64\n"
          "[   12.345678] kms_hello: hello, world\n"
          "[123456.000001] late\n"
          "no time\n");
}

TEST_CASE("console text parses with or without timestamps", "[kernel_log]")
{
    auto records = kmsdk::parse_console("[    1.601234] Run /init as init process\r\n"
                                        "kmsdk-agent: ready\r\n"
                                        "\r\n"
                                        "[   12.5] short fraction\n"
                                        "[    3.000001][    T1] with a caller id\n"
                                        "[   12.345678] partial last li");
    REQUIRE(records.size() == 6);
    CHECK(records[0].usec == 1601234);
    CHECK(records[0].text == "Run /init as init process");
    CHECK(records[0].level == -1);
    CHECK(records[1].usec == kmsdk::no_timestamp);
    CHECK(records[1].text == "kmsdk-agent: ready");
    CHECK(records[1].seq == 1);
    CHECK(records[2].text.empty());
    CHECK(records[3].usec == 12500000);
    CHECK(records[4].usec == 3000001);
    CHECK(records[4].text == "with a caller id");
    CHECK(records[5].text == "partial last li");
    CHECK(kmsdk::format_dmesg({records[0], records[1]}) ==
          "[    1.601234] Run /init as init process\nkmsdk-agent: ready\n");
}

TEST_CASE("a NULL dereference is one Oops, headed by its BUG line (6.1, kmsg)", "[kernel_log]")
{
    auto problems = kmsdk::scan(kmsdk::parse_kmsg(oops_6_1_kmsg));
    REQUIRE(problems.size() == 1);
    const auto& oops = problems[0];
    CHECK(oops.kind == Kind::Oops);
    CHECK(oops.headline == "BUG: kernel NULL pointer dereference, address: 0000000000000000");
    CHECK(oops.usec == 25123456);
    const std::vector<std::string> expected = {
        "#PF: supervisor write access in kernel mode",
        "#PF: error_code(0x0002) - not-present page",
        "Oops: 0002 [#1] PREEMPT SMP PTI",
        "CPU: 1 PID: 97 Comm: sh Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-2",
        "RIP: 0010:kms_fault_oops_poke+0x5/0x10 [kms_fault_oops]",
        "Call Trace:",
        " kms_fault_oops_write+0x2a/0x40 [kms_fault_oops]",
        " vfs_write+0xb9/0x3f0",
        " ksys_write+0x6b/0xf0",
        " do_syscall_64+0x55/0xb0",
        " entry_SYSCALL_64_after_hwframe+0x6e/0xd8",
    };
    CHECK(oops.trace == expected);
}

TEST_CASE("a NULL dereference is one Oops on 6.12's console too", "[kernel_log]")
{
    auto problems = kmsdk::scan_console(oops_6_12_console);
    REQUIRE(problems.size() == 1);
    const auto& oops = problems[0];
    CHECK(oops.kind == Kind::Oops);
    CHECK(oops.headline == "BUG: kernel NULL pointer dereference, address: 0000000000000000");
    CHECK(oops.usec == 25123456);
    CHECK(has_line(oops.trace, "Oops: Oops: 0002 [#1]"));
    CHECK(has_line(oops.trace, "CPU: 1 UID: 0 PID: 97 Comm: sh"));
    CHECK(has_line(oops.trace, "RIP: 0010:kms_fault_oops_poke"));
    CHECK(has_line(oops.trace, "Call Trace:"));
    CHECK(has_line(oops.trace, " kms_fault_oops_write+0x2a/0x40 [kms_fault_oops]"));
    // Unreliable frames, registers, code bytes and what follows the end
    // marker are not quoted.
    CHECK_FALSE(has_line(oops.trace, "? "));
    CHECK_FALSE(has_line(oops.trace, "Code:"));
    CHECK_FALSE(has_line(oops.trace, "RAX:"));
    CHECK_FALSE(has_line(oops.trace, "RIP: 0033"));
    CHECK_FALSE(has_line(oops.trace, "Modules linked in"));
    CHECK_FALSE(has_line(oops.trace, "\r"));
    CHECK(std::count_if(oops.trace.begin(), oops.trace.end(), [](const auto& line) {
              return line.rfind("RIP:", 0) == 0;
          }) == 1);
}

TEST_CASE("the trace is cut at the number of lines asked for", "[kernel_log]")
{
    auto records = kmsdk::parse_kmsg(oops_6_1_kmsg);
    auto problems = kmsdk::scan(records, 3);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].trace.size() == 3);
    CHECK(problems[0].trace.back() == "Oops: 0002 [#1] PREEMPT SMP PTI");
    CHECK(kmsdk::scan(records).at(0).trace.size() <= kmsdk::default_trace_lines);
}

TEST_CASE("WARN_ON is one Warning naming file and line (6.12)", "[kernel_log]")
{
    auto problems = kmsdk::scan_console(warn_6_12_console);
    REQUIRE(problems.size() == 1);
    const auto& warning = problems[0];
    CHECK(warning.kind == Kind::Warning);
    CHECK_THAT(warning.headline,
               Catch::StartsWith("WARNING: CPU: 0 PID: 101 at ") &&
                   Catch::Contains("kms_fault_warn.c:23 kms_fault_warn_init+0x1c/0xff0 "
                                   "[kms_fault_warn]"));
    CHECK(warning.trace.front() ==
          "CPU: 0 UID: 0 PID: 101 Comm: insmod Tainted: G           OE      "
          "6.12.117+deb12-amd64 #1  Debian 6.12.117-1~deb12u1");
    CHECK(has_line(warning.trace, "RIP: 0010:kms_fault_warn_init+0x1c/0xff0 [kms_fault_warn]"));
    CHECK(has_line(warning.trace, " do_one_initcall+0x58/0x310"));
    CHECK(has_line(warning.trace, " entry_SYSCALL_64_after_hwframe+0x76/0x7e"));
    CHECK_FALSE(has_line(warning.trace, "loaded"));
}

TEST_CASE("a soft lockup is reported, and what follows it is not its trace", "[kernel_log]")
{
    auto problems = kmsdk::scan(kmsdk::parse_kmsg(soft_lockup_6_1_kmsg));
    REQUIRE(problems.size() == 1);
    const auto& lockup = problems[0];
    CHECK(lockup.kind == Kind::SoftLockup);
    CHECK(lockup.headline == "watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [insmod:120]");
    CHECK(has_line(lockup.trace, "RIP: 0010:kms_spin_init+0x11/0x1000 [kms_spin]"));
    CHECK(has_line(lockup.trace, " do_one_initcall+0x5b/0x220"));
    CHECK(lockup.trace.back() == " entry_SYSCALL_64_after_hwframe+0x6e/0xd8");
    CHECK_FALSE(has_line(lockup.trace, "kms_hello"));
    CHECK_FALSE(has_line(lockup.trace, "not_a_frame_of_the_lockup"));
}

TEST_CASE("a panic is reported with its stack", "[kernel_log]")
{
    auto problems = kmsdk::scan_console(panic_6_1_console);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].kind == Kind::Panic);
    CHECK(problems[0].headline == "Kernel panic - not syncing: kms_panic: panic on purpose");
    CHECK(has_line(problems[0].trace, " kms_panic_init+0x15/0x1000 [kms_panic]"));
    CHECK_FALSE(has_line(problems[0].trace, "Kernel Offset"));
}

TEST_CASE("a general protection fault, then the panic it caused", "[kernel_log]")
{
    auto problems = kmsdk::scan_console(gp_panic_6_12_console);
    REQUIRE(problems.size() == 2);
    CHECK(problems[0].kind == Kind::GeneralProtection);
    CHECK_THAT(problems[0].headline,
               Catch::StartsWith("Oops: general protection fault, probably for "
                                 "non-canonical address 0xdead000000000122"));
    CHECK(has_line(problems[0].trace, "RIP: 0010:kms_list_work+0x2a/0x40 [kms_list]"));
    CHECK(has_line(problems[0].trace, " process_one_work+0x179/0x390"));
    CHECK(problems[1].kind == Kind::Panic);
    CHECK(problems[1].headline == "Kernel panic - not syncing: Fatal exception");
}

TEST_CASE("BUG_ON is one BUG, its invalid opcode included", "[kernel_log]")
{
    auto problems = kmsdk::scan_console(bug_on_6_1_console);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].kind == Kind::Bug);
    CHECK(problems[0].headline == "kernel BUG at /work/main/build/kms_x/kms_x.c:14!");
    CHECK(problems[0].trace.front() == "invalid opcode: 0000 [#1] PREEMPT SMP PTI");
}

TEST_CASE("frames before the call trace are quoted too", "[kernel_log]")
{
    auto problems = kmsdk::scan_console(
        "[    9.100000] BUG: scheduling while atomic: insmod/95/0x00000002\n"
        "[    9.100010] Modules linked in: kms_x(OE+)\n"
        "[    9.100020] Preemption disabled at:\n"
        "[    9.100030] [<ffffffffc0a0e005>] kms_x_init+0x5/0x1000 [kms_x]\n"
        "[    9.100040] CPU: 0 PID: 95 Comm: insmod Tainted: G           OE      "
        "6.1.0-56-amd64 #1  Debian 6.1.192-2\n"
        "[    9.100050] Call Trace:\n"
        "[    9.100060]  <TASK>\n"
        "[    9.100070]  dump_stack_lvl+0x44/0x5c\n"
        "[    9.100080]  __schedule_bug.cold+0x7d/0x8b\n"
        "[    9.100090]  kms_x_init+0x17/0x1000 [kms_x]\n"
        "[    9.100100]  </TASK>\n"
        "[    9.100110] kms_x: loaded\n");
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].kind == Kind::Bug);
    CHECK(problems[0].headline == "BUG: scheduling while atomic: insmod/95/0x00000002");
    const std::string cpu_line =
        "CPU: 0 PID: 95 Comm: insmod Tainted: G           OE      6.1.0-56-amd64 #1  "
        "Debian 6.1.192-2";
    const std::vector<std::string> expected = {
        "[<ffffffffc0a0e005>] kms_x_init+0x5/0x1000 [kms_x]",
        cpu_line,
        "Call Trace:",
        " dump_stack_lvl+0x44/0x5c",
        " __schedule_bug.cold+0x7d/0x8b",
        " kms_x_init+0x17/0x1000 [kms_x]",
    };
    CHECK(problems[0].trace == expected);
}

TEST_CASE("a hung task is reported with the task's stack", "[kernel_log]")
{
    auto problems = kmsdk::scan(kmsdk::parse_kmsg(hung_task_6_1_kmsg));
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].kind == Kind::HungTask);
    CHECK(problems[0].headline == "INFO: task insmod:99 blocked for more than 120 seconds.");
    CHECK_THAT(problems[0].trace.front(), Catch::StartsWith("task:insmod          state:D"));
    CHECK(has_line(problems[0].trace, " kms_fault_hang_init+0x2b/0x1000 [kms_fault_hang]"));
}

TEST_CASE("an RCU stall is reported with the stuck CPU's details", "[kernel_log]")
{
    auto problems = kmsdk::scan(kmsdk::parse_kmsg(rcu_stall_6_12_kmsg));
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].kind == Kind::RcuStall);
    CHECK(problems[0].headline == "rcu: INFO: rcu_preempt self-detected stall on CPU");
    CHECK(has_line(problems[0].trace, "(20999 ticks this GP)"));
    CHECK(has_line(problems[0].trace, "RIP: 0010:kms_spin_init+0x11/0x1000 [kms_spin]"));
    CHECK(has_line(problems[0].trace, " do_one_initcall+0x58/0x310"));
}

TEST_CASE("a healthy log reports nothing", "[kernel_log]")
{
    CHECK(kmsdk::scan(kmsdk::parse_kmsg(clean_kmsg)).empty());
    CHECK(kmsdk::scan_console("").empty());
    CHECK(kmsdk::describe({}).empty());
}

// slub_debug=FZPU on 6.12: a module wrote into memory it had freed, and
// KFENCE caught another such write.
const char* const slub_and_kfence_console = R"([    3.100000] =============================================================================
[    3.100100] BUG kmalloc-64 (Tainted: G           OE     ): Poison overwritten
[    3.100200] -----------------------------------------------------------------------------
[    3.100300] 0xffff8880035a3e40-0xffff8880035a3e43 @offset=3648. First byte 0x1 instead of 0x6b
[    3.100400] Allocated in kms_fault_uaf_init+0x14/0x1000 [kms_fault_uaf] age=12 cpu=0 pid=99
[    3.200000] ==================================================================
[    3.200100] BUG: KFENCE: use-after-free write in kms_fault_uaf_init+0x20/0x1000 [kms_fault_uaf]
[    3.200200] Use-after-free write at 0x00000000b4e1c8f0 (in kfence-#12):
)";

TEST_CASE("SLUB's and KFENCE's memory reports are BUGs naming what they found", "[kernel_log]")
{
    auto problems = kmsdk::scan_console(slub_and_kfence_console);
    REQUIRE(problems.size() == 2);
    CHECK(problems[0].kind == Kind::Bug);
    CHECK_THAT(problems[0].headline, Catch::Contains("Poison overwritten"));
    CHECK(problems[1].kind == Kind::Bug);
    CHECK_THAT(problems[1].headline, Catch::Contains("KFENCE: use-after-free write in kms_fault_uaf_init"));
}

TEST_CASE("problems one after another are all reported, in order", "[kernel_log]")
{
    auto records = kmsdk::parse_kmsg(clean_kmsg);
    for (auto* sample : {oops_6_1_kmsg, hung_task_6_1_kmsg})
        for (auto& record : kmsdk::parse_kmsg(sample))
            records.push_back(record);
    auto problems = kmsdk::scan(records);
    REQUIRE(problems.size() == 2);
    CHECK(problems[0].kind == Kind::Oops);
    CHECK(problems[1].kind == Kind::HungTask);
}

TEST_CASE("a report repeated in a loop is one problem with its count; others stay apart",
          "[kernel_log]")
{
    std::vector<std::string> lines;
    for (int i = 0; i < 200; ++i) {
        // Taint, PID and addresses change from one round to the next.
        lines.emplace_back(i == 0 ? "BUG kmalloc-64 (Tainted: G           OE     ): Poison overwritten"
                                  : "BUG kmalloc-64 (Tainted: G    B      OE     ): Poison overwritten");
        lines.push_back(fmt::format("WARNING: CPU: 0 PID: {} at mm/slub.c:1127 object_err+0x1dc/0x2c0",
                                    100 + i));
        lines.push_back(fmt::format(" kms_fault_uaf_write+0x{:x}/0x40 [kms_fault_uaf]", 0x1c + i % 2));
    }
    lines.emplace_back("BUG: KFENCE: use-after-free write in kms_fault_uaf_write+0x36/0x40 [kms_fault_uaf]");
    lines.emplace_back("BUG kmalloc-128 (Tainted: G    B      OE     ): Object already free");
    auto problems = kmsdk::scan(lines);
    REQUIRE(problems.size() == 4);
    CHECK(problems[0].headline == "BUG kmalloc-64 (Tainted: G           OE     ): Poison overwritten");
    CHECK(problems[0].count == 200);
    CHECK(problems[1].kind == Kind::Warning);
    CHECK(problems[1].count == 200);
    CHECK(problems[1].headline == "WARNING: CPU: 0 PID: 100 at mm/slub.c:1127 object_err+0x1dc/0x2c0");
    CHECK(problems[2].count == 1);
    CHECK(problems[3].count == 1);
    auto text = kmsdk::describe(problems);
    CHECK_THAT(text, Catch::Matchers::Contains("Poison overwritten (reported 200 times; the first is quoted)\n"));
    CHECK_THAT(text, Catch::Matchers::Contains("object_err+0x1dc/0x2c0 (reported 200 times; the first is quoted)\n"));
    CHECK_FALSE(text.find("Object already free (reported") != std::string::npos);
}

TEST_CASE("console lines scan like records", "[kernel_log]")
{
    std::vector<std::string> lines = {
        "[   31.402699] WARNING: CPU: 0 PID: 1 at kernel/x.c:1 f+0x1/0x2",
        "[   31.402700] RIP: 0010:f+0x1/0x2",
    };
    auto problems = kmsdk::scan(lines);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].headline == "WARNING: CPU: 0 PID: 1 at kernel/x.c:1 f+0x1/0x2");
    CHECK(problems[0].usec == 31402699);
    CHECK(problems[0].trace == std::vector<std::string>{"RIP: 0010:f+0x1/0x2"});
}

TEST_CASE("a WARN() in 7.x's wording is a warning too", "[kernel_log]")
{
    // As 7.3.4+deb13 printed kms_fault_warn's WARN_ON.
    std::vector<std::string> lines = {
        "[    3.972703] ------------[ cut here ]------------",
        "[    3.972944] WARNING: kms_fault_warn.c:22 at kms_fault_warn_init+0x10/0xff0 "
        "[kms_fault_warn], CPU#0: insmod/92",
        "[    3.973950] Modules linked in: kms_fault_warn(OE+)",
        // Other lines that start with WARNING: are not WARN()s.
        "[    3.990000] WARNING: Spectre v2 mitigation leaves CPU vulnerable",
    };
    auto problems = kmsdk::scan(lines);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].kind == Kind::Warning);
    CHECK_THAT(problems[0].headline, Catch::StartsWith("WARNING: kms_fault_warn.c:22 at ") &&
                                         Catch::Contains("CPU#0: insmod/92"));
}

TEST_CASE("describe quotes each problem with its trace indented", "[kernel_log]")
{
    auto problems = kmsdk::scan(kmsdk::parse_kmsg(oops_6_1_kmsg));
    auto problems2 = kmsdk::scan_console(warn_6_12_console);
    problems.insert(problems.end(), problems2.begin(), problems2.end());
    auto text = kmsdk::describe(problems);
    CHECK_THAT(text,
               Catch::StartsWith("[Oops at 25.123456] BUG: kernel NULL pointer dereference, "
                                 "address: 0000000000000000\n"
                                 "    #PF: supervisor write access in kernel mode\n"));
    CHECK_THAT(text, Catch::Contains("\n    RIP: 0010:kms_fault_oops_poke+0x5/0x10 "
                                     "[kms_fault_oops]\n"));
    CHECK_THAT(text, Catch::Contains("\n\n[WARNING at 31.402699] WARNING: CPU: 0 PID: 101 at "));
    CHECK(kmsdk::describe(kmsdk::scan(std::vector<std::string>{"BUG: x"})) == "[BUG] BUG: x\n");
    CHECK(kmsdk::kind_name(Kind::SoftLockup) == std::string{"soft lockup"});
}

TEST_CASE("taint masks read as the kernel's letters", "[kernel_log]")
{
    CHECK(kmsdk::taint_letters(0).empty());
    CHECK(kmsdk::taint_letters(12289) == "POE");  // bits 0, 12, 13
    CHECK(kmsdk::taint_letters(kmsdk::taint::die | kmsdk::taint::warn) == "DW");
    CHECK(kmsdk::taint_letters(kmsdk::taint::forced_rmmod) == "R");
    CHECK(kmsdk::taint_letters((1u << 19) - 1) == "PFSRMBUDAWCIOELKXTN");
    CHECK(kmsdk::taint_letters(std::uint64_t{1} << 40) == "?");

    CHECK(kmsdk::new_taints(4096, 12289) == "PE");
    CHECK(kmsdk::new_taints(12289, 12289).empty());
    CHECK(kmsdk::new_taints(12289, 4096).empty());  // flags never clear; nothing new
    CHECK(kmsdk::new_taints(12288, 12288 | kmsdk::taint::die) == "D");

    CHECK(kmsdk::taint_names(12288) == "[O]=OOT_MODULE, [E]=UNSIGNED_MODULE");
    CHECK(kmsdk::taint_names(0).empty());
}

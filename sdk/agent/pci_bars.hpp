// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <string>

namespace kmsdk::agent {

// After a restore from a snapshot: puts back the base address registers
// of PCI devices whose configuration space the restoring QEMU did not
// bring back. A device model without migration state (QEMU's edu device)
// comes up in the new QEMU as at reset, its BARs 0, while the kernel
// still holds the addresses it assigned at boot: a driver that binds
// later would map one address and the device answer at another. Returns
// a line per register rewritten.
std::string restore_pci_bars();

}  // namespace kmsdk::agent

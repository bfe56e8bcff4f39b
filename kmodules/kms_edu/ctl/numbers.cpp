// SPDX-License-Identifier: GPL-2.0
#include "numbers.hpp"

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace kms_edu_ctl {
namespace {

// The number in decimal, its '-' kept; "" when it is not a number.
std::string as_decimal(std::string_view text, bool allow_negative)
{
    std::string sign;
    if (allow_negative && text.starts_with('-')) {
        sign = "-";
        text.remove_prefix(1);
    }
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    std::uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size())
        return "";
    return sign + std::to_string(value);
}

}  // namespace

CLI::Validator decimal_or_hex(bool allow_negative)
{
    return CLI::Validator{
        [allow_negative](std::string& text) -> std::string {
            auto decimal = as_decimal(text, allow_negative);
            if (decimal.empty())
                return "'" + text + "' is not a " + (allow_negative ? "" : "non-negative ") +
                       "decimal or 0x-hexadecimal integer";
            text = decimal;
            return "";
        },
        ""};
}

}  // namespace kms_edu_ctl

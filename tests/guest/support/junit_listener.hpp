// SPDX-License-Identifier: GPL-2.0
//
// A suite's JUnit report, written beside its console output: when
// KMSDK_JUNIT_DIR is set, every guest suite writes
// <dir>/<suite>_<kernel spec>.xml (<suite>_cold_<spec>.xml for a run with
// KMSDK_COLD set, <suite>_<part>_<spec>.xml for the part of a suite that
// runs apart), the folder made if missing, for CI systems to read.
//
// Not Catch2's own junit reporter (-r junit -o FILE), for three reasons:
// Catch2 v2 runs one reporter at a time, so it would replace the console
// output people and ctest's --output-on-failure read; it writes one
// <testcase> per leaf SECTION, where CI wants one per TEST_CASE; and it
// knows nothing of skip() (guest_suite.hpp), so a skipped case would read as
// passed. A Catch2 listener sees every event beside the console reporter:
// this one folds each TEST_CASE, its sections included, into one <testcase>
// with its time, its <failure>/<error> elements, and <skipped> for skip().
//
// Included once, by main.cpp, the translation unit holding Catch2's
// implementation.
#pragma once

#include "guest_suite.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace kmsdk::test {

class JunitListener : public Catch::TestEventListenerBase {
public:
    explicit JunitListener(const Catch::ReporterConfig& config) : TestEventListenerBase{config}
    {
        const char* dir = std::getenv("KMSDK_JUNIT_DIR");
        if (dir && *dir)
            dir_ = dir;
    }

    void testRunStarting(const Catch::TestRunInfo& info) override
    {
        TestEventListenerBase::testRunStarting(info);
        if (!dir_)
            return;
        // Fail before the first boot, not after the last case, when the
        // report has nowhere to go.
        std::error_code error;
        std::filesystem::create_directories(*dir_, error);
        if (error || !std::filesystem::is_directory(*dir_))
            throw std::runtime_error(fmt::format(
                "KMSDK_JUNIT_DIR={}: cannot make that folder ({}); point it at a writable "
                "folder, or unset it to write no JUnit report",
                dir_->string(), error ? error.message() : "a file of that name is in the way"));
        path_ = *dir_ / report_name(info.name);
        started_ = std::chrono::system_clock::now();
    }

    void testCaseStarting(const Catch::TestCaseInfo& info) override
    {
        TestEventListenerBase::testCaseStarting(info);
        cases_.emplace_back().name = info.name;
        case_clock_ = std::chrono::steady_clock::now();
    }

    bool assertionEnded(const Catch::AssertionStats& stats) override
    {
        if (dir_ && !cases_.empty())
            record(stats, cases_.back());
        return true;
    }

    void testCaseEnded(const Catch::TestCaseStats& stats) override
    {
        TestEventListenerBase::testCaseEnded(stats);
        if (!cases_.empty())
            cases_.back().seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - case_clock_).count();
    }

    void testRunEnded(const Catch::TestRunStats& stats) override
    {
        TestEventListenerBase::testRunEnded(stats);
        if (dir_)
            write_report(stats.runInfo.name);
    }

private:
    struct Problem {
        std::string element;  // "failure" or "error"
        std::string type;     // the macro, or what went wrong
        std::string message;
        std::string text;
    };
    struct CaseRecord {
        std::string name;
        double seconds = 0;
        std::vector<Problem> problems;
        std::optional<std::string> skipped;
    };

    // guest_vermagic on 6.12-rt: vermagic_6.12-rt.xml; the part of a
    // suite that runs apart (KMSDK_SUITE_PART): run_volume_6.1.xml.
    static std::string report_name(std::string_view binary)
    {
        std::string_view suite = binary;
        if (suite.starts_with("guest_"))
            suite.remove_prefix(6);
        const char* cold = std::getenv("KMSDK_COLD");
        bool is_cold = cold && *cold && std::string_view{cold} != "0";
        const char* part = std::getenv("KMSDK_SUITE_PART");
        return fmt::format("{}{}{}_{}.xml", suite, is_cold ? "_cold" : "",
                           part && *part ? fmt::format("_{}", part) : "", test_kernel().spec());
    }

    static void record(const Catch::AssertionStats& stats, CaseRecord& into)
    {
        const auto& result = stats.assertionResult;
        if (result.getResultType() == Catch::ResultWas::Warning) {
            // skip() says why with a WARN that starts so.
            constexpr std::string_view mark = "SKIPPED: ";
            if (auto message = result.getMessage(); message.starts_with(mark))
                into.skipped = message.substr(mark.size());
            return;
        }
        if (result.isOk())
            return;
        bool is_error = result.getResultType() == Catch::ResultWas::ThrewException ||
                        result.getResultType() == Catch::ResultWas::FatalErrorCondition;
        std::string text;
        if (result.hasExpression())
            text += fmt::format("{}\nwith expansion:\n  {}\n", result.getExpressionInMacro(),
                                result.getExpandedExpression());
        for (const auto& info : stats.infoMessages)
            if (info.type == Catch::ResultWas::Info)
                text += fmt::format("with message:\n  {}\n", info.message);
        if (result.hasMessage())
            text += result.getMessage() + '\n';
        const auto& where = result.getSourceInfo();
        text += fmt::format("at {}:{}", where.file, where.line);
        into.problems.push_back(Problem{
            .element = is_error ? "error" : "failure",
            .type = std::string{result.getTestMacroName()},
            .message = result.hasMessage() ? result.getMessage() : result.getExpression(),
            .text = std::move(text),
        });
    }

    void write_report(const std::string& binary) const
    {
        int failures = 0, errors = 0, skipped = 0;
        double seconds = 0;
        for (const auto& record : cases_) {
            bool has_error = false, has_failure = false;
            for (const auto& problem : record.problems)
                (problem.element == "error" ? has_error : has_failure) = true;
            errors += has_error;
            failures += has_failure && !has_error;
            skipped += record.skipped && record.problems.empty();
            seconds += record.seconds;
        }

        // Written aside and renamed into place: a reader never sees half a report.
        auto partial = path_;
        partial += ".partial";
        std::ofstream out{partial};
        {
            Catch::XmlWriter xml{out};
            xml.startElement("testsuites");
            auto suite = xml.scopedElement("testsuite");
            suite.writeAttribute("name", binary)
                .writeAttribute("tests", cases_.size())
                .writeAttribute("failures", failures)
                .writeAttribute("errors", errors)
                .writeAttribute("skipped", skipped)
                .writeAttribute("time", fmt::format("{:.3f}", seconds))
                .writeAttribute("timestamp", iso8601(started_));
            {
                auto properties = xml.scopedElement("properties");
                xml.scopedElement("property")
                    .writeAttribute("name", "kernel")
                    .writeAttribute("value", test_kernel().spec());
                xml.scopedElement("property")
                    .writeAttribute("name", "release")
                    .writeAttribute("value", test_kernel().release());
            }
            for (const auto& record : cases_) {
                auto element = xml.scopedElement("testcase");
                element.writeAttribute("classname", binary)
                    .writeAttribute("name", record.name)
                    .writeAttribute("time", fmt::format("{:.3f}", record.seconds));
                for (const auto& problem : record.problems)
                    xml.scopedElement(problem.element)
                        .writeAttribute("message", problem.message)
                        .writeAttribute("type", problem.type)
                        .writeText(problem.text, Catch::XmlFormatting::Newline);
                if (record.skipped && record.problems.empty())
                    xml.scopedElement("skipped").writeAttribute("message", *record.skipped);
            }
        }
        out.close();
        std::error_code error;
        if (!out)
            error = std::make_error_code(std::errc::io_error);
        else
            std::filesystem::rename(partial, path_, error);
        if (error) {
            std::error_code ignored;
            std::filesystem::remove(partial, ignored);
            throw std::runtime_error(fmt::format("cannot write the JUnit report {}: {}; check "
                                                 "the room and permissions of KMSDK_JUNIT_DIR",
                                                 path_.string(), error.message()));
        }
    }

    static std::string iso8601(std::chrono::system_clock::time_point when)
    {
        std::time_t seconds = std::chrono::system_clock::to_time_t(when);
        std::tm utc{};
        ::gmtime_r(&seconds, &utc);
        char text[32];
        std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
        return text;
    }

    std::optional<std::filesystem::path> dir_;
    std::filesystem::path path_;
    std::chrono::system_clock::time_point started_;
    std::chrono::steady_clock::time_point case_clock_;
    std::vector<CaseRecord> cases_;
};

}  // namespace kmsdk::test

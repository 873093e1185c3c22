// SIGINT during a long `synack sim` and `synack analyze`: each stops where it is, reports what it had, and
// exits 130 (docs/cli.md). No sleeps: the signal is sent once the command is provably running — sim has
// printed its first stream line; analyze is blocked reading a pipe this test holds open until then.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

const std::string kSynack = SYNACK_PATH;

struct Child {
  pid_t pid = -1;
  int out = -1;  ///< its standard output
  int in = -1;   ///< its standard input
};

Child spawn(const std::vector<std::string>& args) {
  std::array<int, 2> out{};
  std::array<int, 2> in{};
  if (::pipe2(out.data(), O_CLOEXEC) != 0 || ::pipe2(in.data(), O_CLOEXEC) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kSynack.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(kSynack.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(in[0]);
  return Child{pid, out[0], in[1]};
}

std::string read_line(int fd) {
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  return line;
}

std::string read_all(int fd) {
  std::string text;
  std::array<char, 4096> buf{};
  ssize_t n = 0;
  while ((n = ::read(fd, buf.data(), buf.size())) > 0) text.append(buf.data(), static_cast<std::size_t>(n));
  return text;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

// The kernel's wait channel of `pid` ("pipe_read" while it blocks reading a pipe).
std::string wchan(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/wchan");
  std::string s;
  std::getline(f, s);
  return s;
}

TEST(Interrupt, SimLongRun_Sigint_StopsWithTheSummaryAndExit130) {
  // A million connections take minutes; the first stream line proves the run is under way.
  Child c = spawn({"sim", "lossy", "--connections", "1000000", "--json-stream"});
  ASSERT_GT(c.pid, 0);
  const std::string first = read_line(c.out);
  ASSERT_FALSE(first.empty());
  ::kill(c.pid, SIGINT);
  const std::string rest = read_all(c.out);
  EXPECT_EQ(wait_exit(c.pid), 130);
  ::close(c.out);
  ::close(c.in);
  const auto last_newline = rest.find_last_of('\n', rest.size() - 2);
  const auto last =
      nlohmann::json::parse(rest.substr(last_newline == std::string::npos ? 0 : last_newline + 1));
  EXPECT_EQ(last["event"], "summary");
  EXPECT_EQ(last["interrupted"], true);
}

TEST(Interrupt, AnalyzeBlockedOnAPipe_Sigint_ReportsWhatWasReadAndExit130) {
  Child c = spawn({"analyze", "--no-drop", "--json", "-"});
  ASSERT_GT(c.pid, 0);
  // A pcap header (microseconds, LINKTYPE_RAW) and no frame yet: analyze waits for more.
  const std::array<unsigned char, 24> header{0xd4, 0xc3, 0xb2, 0xa1, 2,    0,    4, 0, 0,   0, 0, 0,
                                             0,    0,    0,    0,    0xff, 0xff, 0, 0, 101, 0, 0, 0};
  ASSERT_EQ(::write(c.in, header.data(), header.size()), static_cast<ssize_t>(header.size()));
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  // "pipe_read", or "anon_pipe_read" on newer kernels.
  while (!wchan(c.pid).ends_with("pipe_read") && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the child's state, not timing
  }
  ASSERT_TRUE(wchan(c.pid).ends_with("pipe_read")) << wchan(c.pid);
  ::kill(c.pid, SIGINT);
  ::close(c.in);  // as when Ctrl-C ends the writer of `tcpdump -w - | synack analyze -` too
  c.in = -1;
  const std::string out = read_all(c.out);
  EXPECT_EQ(wait_exit(c.pid), 130) << out;
  ::close(c.out);
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["status"], "interrupted");
}

}  // namespace

// `streamvln launch --nproc_per_node N [--master_addr A] [--master_port P] -- <subcommand ...>`
// torchrun's job for one node: N children of this same binary, each with
// RANK=LOCAL_RANK=k, WORLD_SIZE=N, MASTER_ADDR, MASTER_PORT in its environment.
//
//   launch ─┬─ fork/exec ─► streamvln <args>  (rank 0) ─ pipe ─┐
//           ├─ fork/exec ─► streamvln <args>  (rank 1) ─ pipe ─┼─► poll ─► "[rank k] line"
//           └─ ...                                            ─┘
//   first child to fail -> SIGTERM to the others; exit code = that child's (or 128+signal).
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/command.h"

extern char** environ;

namespace svln::cli {
namespace {

struct LaunchOptions {
  int nproc_per_node = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::vector<std::string> command;
};

struct Child {
  pid_t pid = -1;
  int fd = -1;          // read end of the child's merged stdout/stderr
  std::string partial;  // output after the last newline
  bool running = true;
  int exit_code = 0;
};

std::string selfExe() {
  std::vector<char> buf(4096);
  const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) throw std::runtime_error("launch: cannot resolve /proc/self/exe");
  return std::string(buf.data(), static_cast<size_t>(n));
}

// The child's environment: ours minus the rendezvous variables, plus this rank's.
std::vector<std::string> childEnv(const LaunchOptions& o, int rank) {
  static const char* const kOwned[] = {
      "RANK=", "LOCAL_RANK=", "WORLD_SIZE=", "MASTER_ADDR=", "MASTER_PORT=", "LOCAL_WORLD_SIZE="};
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    bool owned = false;
    for (const char* k : kOwned) owned = owned || std::strncmp(*e, k, std::strlen(k)) == 0;
    if (!owned) env.emplace_back(*e);
  }
  env.push_back("RANK=" + std::to_string(rank));
  env.push_back("LOCAL_RANK=" + std::to_string(rank));
  env.push_back("WORLD_SIZE=" + std::to_string(o.nproc_per_node));
  env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(o.nproc_per_node));
  env.push_back("MASTER_ADDR=" + o.master_addr);
  env.push_back("MASTER_PORT=" + std::to_string(o.master_port));
  return env;
}

std::vector<char*> cstrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

Child spawn(const std::string& exe, const LaunchOptions& o, int rank) {
  // argv and envp are built before fork: the child only calls async-signal-safe functions.
  std::vector<std::string> args{exe};
  args.insert(args.end(), o.command.begin(), o.command.end());
  std::vector<std::string> env = childEnv(o, rank);
  std::vector<char*> argv = cstrings(args), envp = cstrings(env);
  int fds[2];
  if (pipe(fds) != 0)
    throw std::runtime_error(std::string("launch: pipe: ") + std::strerror(errno));
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("launch: fork: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    execve(exe.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  Child c;
  c.pid = pid;
  c.fd = fds[0];
  return c;
}

void emitLines(Child& c, int rank, bool flush_all) {
  size_t start = 0, nl;
  while ((nl = c.partial.find('\n', start)) != std::string::npos) {
    std::cout << "[rank " << rank << "] " << c.partial.substr(start, nl - start) << "\n";
    start = nl + 1;
  }
  c.partial.erase(0, start);
  if (flush_all && !c.partial.empty()) {
    std::cout << "[rank " << rank << "] " << c.partial << "\n";
    c.partial.clear();
  }
  std::cout.flush();
}

int exitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// Ctrl-C or SIGTERM to launch reaches every rank (they would otherwise be orphaned and
// keep the rendezvous port). Only kill(), which is async-signal-safe, runs in the handler.
constexpr int kMaxRanks = 1024;
volatile sig_atomic_t g_num_children = 0;
pid_t g_children[kMaxRanks];

void forwardSignal(int sig) {
  for (sig_atomic_t i = 0; i < g_num_children; ++i) kill(g_children[i], sig);
}

int runLaunch(const LaunchOptions& o) {
  if (o.nproc_per_node < 1 || o.nproc_per_node > kMaxRanks)
    throw std::runtime_error("--nproc_per_node: must be in [1, " + std::to_string(kMaxRanks) + "]");
  if (o.master_port <= 0 || o.master_port > 65535)
    throw std::runtime_error("--master_port: " + std::to_string(o.master_port) +
                             " is not a TCP port");
  if (o.command.empty()) throw std::runtime_error("launch: no subcommand after --");
  const std::string exe = selfExe();
  spdlog::info("launch: {} processes, master {}:{}", o.nproc_per_node, o.master_addr,
               o.master_port);
  std::vector<Child> children;
  for (int r = 0; r < o.nproc_per_node; ++r) {
    children.push_back(spawn(exe, o, r));
    g_children[r] = children.back().pid;
    g_num_children = r + 1;
  }
  signal(SIGINT, forwardSignal);
  signal(SIGTERM, forwardSignal);

  int first_failure = 0;
  size_t open = children.size();
  while (open > 0) {
    std::vector<pollfd> pfds;
    std::vector<int> ranks;
    for (size_t r = 0; r < children.size(); ++r) {
      if (children[r].fd < 0) continue;
      pfds.push_back({children[r].fd, POLLIN, 0});
      ranks.push_back(static_cast<int>(r));
    }
    if (poll(pfds.data(), pfds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("launch: poll: ") + std::strerror(errno));
    }
    for (size_t i = 0; i < pfds.size(); ++i) {
      if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Child& c = children[static_cast<size_t>(ranks[i])];
      char buf[4096];
      const ssize_t n = read(c.fd, buf, sizeof(buf));
      if (n > 0) {
        c.partial.append(buf, static_cast<size_t>(n));
        emitLines(c, ranks[i], false);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      // EOF: the child closed its output, reap it.
      emitLines(c, ranks[i], true);
      close(c.fd);
      c.fd = -1;
      --open;
      int status = 0;
      waitpid(c.pid, &status, 0);
      c.running = false;
      c.exit_code = exitCodeOf(status);
      if (c.exit_code != 0 && first_failure == 0) {
        first_failure = c.exit_code;
        spdlog::error("launch: rank {} exited with {}; stopping the others", ranks[i], c.exit_code);
        for (auto& other : children)
          if (other.running) kill(other.pid, SIGTERM);
      }
    }
  }
  for (auto& c : children)
    if (c.running) {
      int status = 0;
      waitpid(c.pid, &status, 0);
      c.exit_code = exitCodeOf(status);
      if (c.exit_code != 0 && first_failure == 0) first_failure = c.exit_code;
    }
  return first_failure;
}

const RegisterCommand kRegister{
    "launch", "run N data-parallel ranks of a streamvln subcommand on this node",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<LaunchOptions>();
      app.add_option("--nproc_per_node", o->nproc_per_node, "processes (ranks) to start")
          ->required();
      app.add_option("--master_addr", o->master_addr, "rendezvous host (rank 0 serves it)");
      app.add_option("--master_port", o->master_port, "rendezvous TCP port");
      app.add_option("command", o->command, "-- then the streamvln subcommand and its flags")
          ->required();
      return [o] { return runLaunch(*o); };
    }};

}  // namespace
}  // namespace svln::cli

#include "commands.hpp"

#include "analyze_command.hpp"
#include "bench_command.hpp"
#include "connect_command.hpp"
#include "forward_command.hpp"
#include "listen_command.hpp"
#include "sim_command.hpp"

namespace synack::cli {

void register_commands(CLI::App& app, int& exit_code) {
  register_demo_command(app, exit_code);
  register_sim_command(app, exit_code);
  register_listen_command(app, exit_code);
  register_connect_command(app, exit_code);
  register_forward_command(app, exit_code);
  register_analyze_command(app, exit_code);
  register_bench_command(app, exit_code);
}

}  // namespace synack::cli

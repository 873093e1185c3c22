#include "commands.hpp"

#ifdef SYNACK_HAVE_ANALYZE
#include "analyze_command.hpp"
#endif

namespace synack::cli {

void register_commands(CLI::App& app, int& exit_code) {
  register_demo_command(app, exit_code);
#ifdef SYNACK_HAVE_ANALYZE
  register_analyze_command(app, exit_code);
#endif
}

}  // namespace synack::cli

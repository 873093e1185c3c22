# cmake -DHELP2MAN=... -DSYNACK=<path to synack> -DSUBCOMMAND=<subcommand or empty> -DNAME=<one line>
#       -DVERSION=... -DOUT=<file.1> -P SynackManPage.cmake
# One man page from `synack [COMMAND] --help` with help2man; a subcommand's page is titled synack-COMMAND.
if(SUBCOMMAND)
  set(help_option "${SUBCOMMAND} --help")
  set(page_name "synack-${SUBCOMMAND}")
else()
  set(help_option "--help")
  set(page_name "synack")
endif()
execute_process(
  COMMAND ${HELP2MAN} --no-info --no-discard-stderr "--help-option=${help_option}"
          "--version-string=synack ${VERSION}" "--name=${NAME}" --section=1 --output=${OUT}.tmp ${SYNACK}
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "help2man failed for '${page_name}' (${result})")
endif()
file(READ ${OUT}.tmp page)
if(SUBCOMMAND)
  string(TOUPPER "${page_name}" title)
  string(REGEX REPLACE "\n\\.TH SYNACK " "\n.TH ${title} " page "${page}")
  string(REGEX REPLACE "\nsynack \\\\- " "\n${page_name} \\\\- " page "${page}")
endif()
file(WRITE ${OUT} "${page}")
file(REMOVE ${OUT}.tmp)

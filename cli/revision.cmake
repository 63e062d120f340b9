# revision.cmake — writes OUT (rv_revision.h) with the source tree's git
# revision, at every build, touching it only when the revision changed (so
# that a build with nothing new relinks nothing). Outside a git checkout (a
# tarball) the revision is "" and `ringvpn version` shows the version alone.
#   cmake -DSRC=<source dir> -DOUT=<file> -P revision.cmake
set(rev "")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS "${SRC}/.git")
	# The commit alone (no tag name, which may hold any character and
	# would land in a C string), also in a checkout another user owns.
	execute_process(COMMAND "${GIT_EXECUTABLE}" -c safe.directory=* -C "${SRC}" describe --always
		--dirty --abbrev=12 --exclude=*
		OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
	if(NOT rc EQUAL 0 OR NOT rev MATCHES "^[0-9a-f]+(-dirty)?$")
		set(rev "")
	endif()
endif()
set(text "#define RV_REVISION \"${rev}\"\n")
if(EXISTS "${OUT}")
	file(READ "${OUT}" old)
else()
	set(old "")
endif()
if(NOT old STREQUAL text)
	file(WRITE "${OUT}" "${text}")
endif()

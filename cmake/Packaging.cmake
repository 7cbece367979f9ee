# The install rules and the Debian package (scripts/package builds it).
#
# CPack's DEB generator turns these install rules into the .deb, so the
# package lays down exactly what `cmake --install` does and there is no
# debian/ tree to keep in step with the build; the maintainer scripts, the
# unit and the conffile live in packaging/.
include(GNUInstallDirs)

install(TARGETS ringside RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/ringside/web)
# Absolute paths: these belong where Debian puts them whatever the prefix.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/ringside.toml DESTINATION /etc/ringside
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/ringside.service DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/docs/install.md ${PROJECT_SOURCE_DIR}/docs/interface.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/config/ringside.example.toml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ringside)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "call-center screen pops for Asterisk, FreeSWITCH, SIP and webhook PBXs")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "Ringside follows the PBX's calls and pushes the caller's customer file to the\n"
    "browser of the agent whose phone rings, logs every call, and gives supervisors\n"
    "a live wallboard and reports.")
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(RINGSIDE_PACKAGE_MAINTAINER "Ringside maintainers <ringside@localhost>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${RINGSIDE_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)     # ringside_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries' packages are computed by dpkg-shlibdeps (dpkg-dev).
# Besides: adduser for the postinst's system user, and Debian's Chart.js,
# which the server reads at run time (/vendor/chart.js, the supervisors'
# charts) from /usr/share/javascript/chart.js, and procps for /bin/kill,
# which the unit's ExecReload runs (a minimal Debian root lacks it, and
# systemd-analyze verify refuses the unit without it).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, libjs-chart.js, procps")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/postinst
    ${PROJECT_SOURCE_DIR}/packaging/prerm
    ${PROJECT_SOURCE_DIR}/packaging/postrm
    ${PROJECT_SOURCE_DIR}/packaging/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

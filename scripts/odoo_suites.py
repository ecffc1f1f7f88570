"""odoo-bin, running Odoo's own tests of the selected modules once the whole
registry is loaded, the addon included.

odoo-bin runs a module's at-install tests while that module loads, before the
modules that depend on it (this addon) are in the registry: they would test
Odoo without the addon. Here every selected test, at-install or post-install,
runs where odoo-bin runs post-install tests, with the same tag selection
(``--test-tags``; ``standard`` tests by default)."""

import sys

from odoo.tools import config

# odoo.tests expects test mode to be set when it is imported.
config.parse_config(sys.argv[1:])

from odoo.cli.command import main  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402
from odoo.tests import loader  # noqa: E402
from odoo.tests.suite import OdooSuite  # noqa: E402
from odoo.tests.tag_selector import TagsSelector  # noqa: E402


def make_suite(module_names, position="at_install"):
    if position == "at_install":
        return OdooSuite([])
    selector = TagsSelector(config["test_tags"])
    tests = (
        test
        for module_name in module_names
        for module in loader.get_test_modules(module_name)
        for test in loader.get_module_test_cases(module)
        if selector.check(test)
    )
    return OdooSuite(sorted(tests, key=lambda t: t.test_sequence))


loader.make_suite = make_suite
try:
    main()
finally:
    # One line for scripts/test_odoo.sh to read, skips included.
    for report in (registry._assertion_report for registry in Registry.registries.d.values()):
        print(
            f"ODOO SUITES: {report.testsRun} run, {report.failures_count} failed, "
            f"{report.errors_count} errors, {report.skipped} skipped",
            flush=True,
        )

"""Print Odoo's requirements.txt resolved for Python 3.12.

Odoo 18.0 pins, for Python 3.11, sdists that no longer build with current
setuptools; its Python 3.12 pins all ship wheels that also install on 3.11.
"""

import sys

from pip._vendor.packaging.requirements import Requirement

ENV = {"python_version": "3.12", "python_full_version": "3.12.0"}


def main(path):
    for raw in open(path, encoding="utf-8"):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(ENV):
            req.marker = None
            print(req)


if __name__ == "__main__":
    main(sys.argv[1])

# SPDX-License-Identifier: GPL-2.0
# Sphinx configuration of docs/masstree.rst, rendered with the kernel's own
# kernel-doc extension, as the kernel's Documentation/ is. Run through
# `make docs` (scripts/build-docs.sh), which sets MASSTREE_KSRC to a Linux
# source tree and MASSTREE_ROOT to this tree.
import os
import sys

ksrc = os.environ['MASSTREE_KSRC']
sys.path.insert(0, os.path.join(ksrc, 'Documentation', 'sphinx'))

project = 'masstree'
copyright = 'The masstree authors'
root_doc = master_doc = 'masstree'
exclude_patterns = []
extensions = ['kerneldoc', 'automarkup']

kerneldoc_bin = os.path.join(ksrc, 'scripts', 'kernel-doc')
kerneldoc_srctree = os.environ['MASSTREE_ROOT']
kerneldoc_verbosity = 1

# As the kernel's Documentation/conf.py: attributes the C domain must skip.
c_id_attributes = ['__rcu', '__percpu', '__user', '__iomem', '__must_check',
                   '__always_inline', '__maybe_unused', '__used']

html_theme = 'alabaster'
html_title = 'masstree'

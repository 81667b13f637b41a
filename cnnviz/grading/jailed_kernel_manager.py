"""JailedKernelManager: jupyter_client's kernel manager, every kernel in the grading jail.

nbgrader's ``Execute`` gets it through ``cnnviz.grading.jailed_execute.JailedExecute``;
its limits are ``c.JailedKernelManager.*`` in ``nbgrader_config.py``. Each kernel is forked
from the grading process's warm template (``cnnviz.grading.kernel_template``) or, where
there is none, started in a new bubblewrap (``cnnviz.grading.jail.JailRun``), and talks to
the grader over Unix sockets in its own folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cnnviz.grading.jail import JailRun, assignment_files
from cnnviz.grading.jail_policy import Limits, launcher_environment
from cnnviz.grading.jail_user import JAIL_USER


def _kernel_manager_class():
    """Built on first use: importing jupyter_client costs time the command line does not need."""
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import Bool, Float, Integer, Unicode

    class JailedKernelManager(AsyncKernelManager):
        """An IPython kernel in the grading jail (``cnnviz.grading.jail``), over Unix sockets.

        Limits are set in ``nbgrader_config.py``, e.g.
        ``c.JailedKernelManager.memory_limit_mb = 4096``.
        """

        memory_limit_mb = Integer(Limits.memory_mb, help="Memory of the kernel's whole process tree "
                                  "(tmpfs included), MiB; needs a cgroup").tag(config=True)
        address_space_limit_mb = Integer(Limits.address_space_mb, help="Address space per process, MiB "
                                         "(TensorFlow reserves several GiB)").tag(config=True)
        process_limit = Integer(Limits.processes, help="Processes and threads of one kernel").tag(config=True)
        cpu_limit = Float(Limits.cpus, help="CPU time of one kernel, in cores").tag(config=True)
        home_size_mb = Integer(Limits.home_mb, help="The kernel's writable home folder, MiB").tag(config=True)
        tmp_size_mb = Integer(Limits.tmp_mb, help="The kernel's private /tmp, MiB").tag(config=True)
        file_size_limit_mb = Integer(Limits.file_mb, help="Largest file a kernel writes, MiB").tag(config=True)
        jail_user = Unicode(JAIL_USER, help="System user the kernel runs as when grading as root "
                            "(created on first use)").tag(config=True)
        cgroup_parent = Unicode("", help="cgroup v2 folder under which kernels' cgroups are made "
                                "(default: <cgroup mount>/cnnviz-jail)").tag(config=True)
        kernel_template = Bool(True, help="Fork each kernel from this process's warm template "
                               "(cnnviz.grading.kernel_template), in a jail of its own, instead of starting "
                               "a new Python in a new bubblewrap").tag(config=True)

        _jail = None  # the kernel's JailRun, or its TemplateKernel
        launched_from = "jail"  # or "template": how the last kernel was made (for the timings)

        def limits(self) -> Limits:
            """The configured limits."""
            limits = Limits(self.memory_limit_mb, self.address_space_limit_mb, self.process_limit,
                            self.cpu_limit, self.home_size_mb, self.tmp_size_mb, self.file_size_limit_mb)
            floor = limits.address_space_mb + limits.home_mb + limits.tmp_mb
            if limits.memory_mb < floor:
                self.log.warning("[jail] memory_limit_mb=%d is below address_space_limit_mb + home + tmp "
                                 "(%d): a runaway allocation will kill the kernel (not graded) instead of "
                                 "failing its cell; raise c.JailedKernelManager.memory_limit_mb to at least %d",
                                 limits.memory_mb, floor, floor)
            return limits

        @property
        def kernel_spec(self):
            # Built here, not found on JUPYTER_PATH: no kernelspec can be swapped in.
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(
                    argv=[sys.executable, "-I", "-m", "ipykernel_launcher", "-f", "{connection_file}",
                          # Inline figures without the "tight" bounding box: that option draws
                          # every figure twice, and grading renders about ten per student.
                          "--InlineBackend.print_figure_kwargs={'bbox_inches': None}"],
                    display_name="Python 3 (grading jail)", language="python",
                    # Signals would reach bubblewrap, not the kernel in its own session.
                    interrupt_mode="message", metadata={"debugger": False})
            return self._kernel_spec

        async def _async_pre_start_kernel(self, **kw):
            if self._jail is None:
                template = None
                if self.kernel_template:
                    from cnnviz.grading import kernel_template

                    template = kernel_template.shared_template(self.limits(), self.jail_user,
                                                               self.cgroup_parent, log=self.log)
                if template is not None:
                    self._jail, self.launched_from = template.new_kernel(), "template"
                else:
                    self._jail = JailRun(self.limits(), self.jail_user, self.cgroup_parent, log=self.log)
                    self.launched_from = "jail"
                self.transport = "ipc"
                self.connection_file = str(self._jail.shared / "kernel.json")
                self.ip = str(self._jail.shared / "kernel")
            return await super()._async_pre_start_kernel(**kw)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            assert self._jail is not None
            workdir = Path(kw.pop("cwd", None) or os.getcwd())
            self._jail.give_to_kernel(Path(self.connection_file))
            command = self._jail.command(kernel_cmd, assignment_files(workdir))
            # The launcher starts from "/" with nothing of the grader's environment.
            kw["cwd"] = "/"
            kw["env"] = launcher_environment()
            return await super()._async_launch_kernel(command, **kw)

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            try:
                await super()._async_cleanup_resources(restart=restart)
            finally:
                if self._jail is not None:
                    if restart:
                        self._jail.stop()
                    else:
                        self._jail.close()
                        self._jail = None

    return JailedKernelManager


_MANAGER = None


def kernel_manager_class():
    """``JailedKernelManager``: the jupyter_client manager of jailed kernels."""
    global _MANAGER
    if _MANAGER is None:
        _MANAGER = _kernel_manager_class()
    return _MANAGER


def __getattr__(name):
    if name == "JailedKernelManager":
        return kernel_manager_class()
    raise AttributeError(name)


def configured_manager(course_root: Path):
    """A ``JailedKernelManager`` with the limits of ``course_root/nbgrader_config.py``."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (Path(course_root) / "nbgrader_config.py").is_file():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    return kernel_manager_class()(config=config)

"""The classroom load benchmark's answer checker can fail, and a short real run passes it.

benchmarks/classroom_load.py simulates students over Streamlit's websocket and counts a page
that does not show core's numbers as an error. Here: fake message streams it must reject,
the real explorer checked against settings it does not show, a student that lies about what
it sent, and three honest students for a few seconds with no error. No timing assertions.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import sys
from pathlib import Path

import pytest
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "classroom_load.py"
spec = importlib.util.spec_from_file_location("classroom_load", BENCHMARK)
load = importlib.util.module_from_spec(spec)
sys.modules["classroom_load"] = load
spec.loader.exec_module(load)


def run_async(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright keeps an event loop
    running in pytest's main thread for the whole session, where asyncio.run refuses."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


DEFAULTS = {
    "h": 5, "w": 5, "cin": 1, "cout": 1, "kh": 3, "kw": 3,
    "ph": 0, "pw": 0, "sh": 1, "sw": 1, "dh": 1, "dw": 1,
}  # fmt: skip


def run_msg(run_id: str, fragments: tuple[str, ...] = ()) -> ForwardMsg:
    msg = ForwardMsg()
    msg.new_session.main_script_hash = "main"
    msg.metadata.run.script_run_id = run_id
    msg.metadata.run.fragment_ids.extend(fragments)
    return msg


def metric_msg(path: list[int], label: str, body: str, run_id: str) -> ForwardMsg:
    msg = ForwardMsg()
    msg.delta.new_element.metric.label = label
    msg.delta.new_element.metric.body = body
    msg.metadata.delta_path.extend(path)
    msg.metadata.run.script_run_id = run_id
    return msg


def finished(status: int = ForwardMsg.FINISHED_SUCCESSFULLY) -> ForwardMsg:
    msg = ForwardMsg()
    msg.script_finished = status
    return msg


def page_of(*messages: ForwardMsg) -> load.PageView:
    page = load.PageView()
    for msg in messages:
        page.apply(msg)
    return page


def default_page(shape: str = "1×3×3", params: str = "9") -> load.PageView:
    return page_of(
        run_msg("r1"),
        metric_msg([0, 4, 0, 0, 0], "Output shape", shape, "r1"),
        metric_msg([0, 4, 0, 1, 0], "Parameters", params, "r1"),
        finished(),
    )


def test_core_numbers_for_the_defaults():
    assert load.expected_answer(DEFAULTS) == load.Expected("1×3×3", "9")
    wide = {**DEFAULTS, "w": 28, "cin": 3, "cout": 4, "kw": 5, "sw": 2}
    assert load.expected_answer(wide) == load.Expected("4×3×12", "180")
    assert load.expected_answer({**DEFAULTS, "kh": 5, "dh": 2}).shape is None  # 9 > 5


def test_checker_accepts_the_page_core_computes():
    assert load.check_page(DEFAULTS, default_page()) is None


@pytest.mark.parametrize(
    ("settings", "page"),
    [
        ({**DEFAULTS, "h": 6}, default_page()),  # the page shows another input's shape
        ({**DEFAULTS, "cout": 2}, default_page()),
        (DEFAULTS, default_page(params="18")),  # right shape, wrong parameter count
        (DEFAULTS, default_page(shape="1×3×4")),
        (DEFAULTS, page_of(run_msg("r1"), finished())),  # no numbers at all
    ],
)
def test_checker_rejects_a_wrong_page(settings, page):
    problem = load.check_page(settings, page)
    assert problem is not None and "core says" in problem


def test_checker_rejects_an_exception_and_a_missing_error():
    crash = ForwardMsg()
    crash.delta.new_element.exception.type = "ValueError"
    crash.delta.new_element.exception.message = "boom"
    crash.metadata.delta_path.extend([0, 5])
    page = default_page()
    page.apply(run_msg("r2"))
    for msg in (
        metric_msg([0, 4, 0, 0, 0], "Output shape", "1×3×3", "r2"),
        metric_msg([0, 4, 0, 1, 0], "Parameters", "9", "r2"),
        crash,
        finished(),
    ):
        page.apply(msg)
    assert "exception" in load.check_page(DEFAULTS, page)
    no_output = {**DEFAULTS, "kh": 5, "dh": 2}  # core rejects these: the page must say so
    assert "shows no error" in load.check_page(no_output, default_page())
    error = ForwardMsg()
    error.delta.new_element.alert.body = f"**{load.NO_OUTPUT}:** dilated kernel spans 9 cells"
    error.delta.new_element.alert.format = Alert.ERROR
    error.metadata.delta_path.extend([0, 4, 0])
    assert load.check_page(no_output, page_of(run_msg("r1"), error, finished())) is None


def test_numbers_from_an_earlier_run_do_not_count():
    """A full run that no longer draws the metrics leaves none: the browser drops them."""
    page = default_page()
    page.apply(run_msg("r2"))
    page.apply(finished())
    assert page.metrics() == {}
    assert load.check_page(DEFAULTS, page) is not None
    # A fragment run keeps what lies outside its fragment.
    page = default_page()
    page.apply(run_msg("r3", fragments=("f1",)))
    page.apply(finished(ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY))
    assert load.check_page(DEFAULTS, page) is None


@pytest.fixture(scope="module")
def server_url():
    with open("/dev/null", "w") as sink:
        process, url = load.start_plain(sink)
    try:
        yield url
    finally:
        load.stop(process)


def test_the_real_page_fails_the_check_for_settings_it_does_not_show(server_url):
    async def open_one():
        student = load.Student(server_url, load.random.Random(0), mean_gap_s=1.0)
        await student.open()
        await student.close()
        return student

    student = run_async(open_one())
    assert student.settings == DEFAULTS  # read back from the widgets the server sent
    assert load.check_page(student.settings, student.page) is None
    assert load.check_page({**student.settings, "w": 6}, student.page) is not None
    assert load.check_page({**student.settings, "cin": 2}, student.page) is not None


def test_a_student_that_misreports_its_changes_gets_errors(server_url):
    result = run_async(
        load.measure(server_url, 2, 4.0, seed=1, server=None, mean_gap_s=0.5, misreport=True)
    )
    assert result.changes > 0
    assert len(result.errors) > 0


def test_three_honest_students_get_no_errors(server_url):
    result = run_async(load.measure(server_url, 3, 5.0, seed=2, server=None, mean_gap_s=0.5))
    assert result.changes >= 3
    assert result.errors == []
    assert len(result.latencies_ms) == result.changes


def test_a_control_reruns_only_the_explorer_and_the_sidebar_stays(server_url):
    """The explorer's controls rerun only its fragment (dashboard/convolution/controls.py): the
    answer is still right, the run names its fragment, and the sidebar's widgets, which that
    run does not redraw, are all still on the page."""

    def sidebar(page: load.PageView) -> set[str]:  # the sidebar is the root container 1
        return {
            load.PageView._widget_id(node.element)
            for path, node in page.nodes.items()
            if path[0] == 1 and load.PageView._widget_id(node.element)
        }

    async def change_twice():
        student = load.Student(server_url, load.random.Random(3), mean_gap_s=1.0)
        await student.open()
        widgets = sidebar(student.page)
        results = [await student.change_one() for _ in range(2)]
        await student.close()
        return student, widgets, results

    student, widgets, results = run_async(change_twice())
    assert [problem for _, problem in results] == [None, None]
    assert student.page.fragments_this_run  # the last change ran a fragment, not the page
    assert len(widgets) > 15 and sidebar(student.page) == widgets

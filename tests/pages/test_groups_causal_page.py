"""The groups-and-causal page through AppTest: the cost table is core's (checked against torch in
test_arithmetic), only valid groups are offered, depthwise is named, the causal stack's
receptive field and dependency count follow the controls, and the link carries the settings."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.convolution.arithmetic import grouped_conv_costs
from dashboard.site import GROUPS_CAUSAL


def page(**query: str) -> AppTest:
    app = AppTest.from_file(str(GROUPS_CAUSAL.file), default_timeout=60)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, app.exception
    return app


def test_costs_groups_and_depthwise() -> None:
    app = page()
    table = app.dataframe[0].value
    expected = grouped_conv_costs(8, 16, (3, 3), (16, 16), 2, bias=True)
    assert list(table["parameters"]) == [row.params for row in expected]
    assert list(table["MACs"]) == [row.macs for row in expected]
    app.number_input(key="gc_in").set_value(6).run()
    assert app.select_slider(key="gc_groups").options == ["1", "2"]  # divisors of 6 and 16
    app.number_input(key="gc_out").set_value(12).run()
    app.select_slider(key="gc_groups").set_value(6).run()
    assert not app.exception
    assert any("a **depthwise** convolution" in c.value for c in app.caption)
    assert app.dataframe[0].value["parameters"][1] == 6 * 12 // 6 * 9 + 12


def test_causal_stack_receptive_field_and_dependencies() -> None:
    app = page(cz_length="20", cz_k="2", cz_layers="3", cz_pos="19")
    growth = app.dataframe[1].value
    assert list(growth["receptive field"]) == [2, 4, 8]
    assert any("depends on **8** input cells" in m.value for m in app.markdown)
    assert any(  # the figures' summaries (issue 25)
        "Output t = 19 of the top layer is" in c.value and "input: 8 (t = 12 to 19)" in c.value
        for c in app.caption
    ) and any("16×8, in 2 groups" in c.value for c in app.caption)
    app.toggle(key="cz_dilated").set_value(False).run()
    assert list(app.dataframe[1].value["receptive field"]) == [2, 3, 4]
    app.slider(key="cz_pos").set_value(1).run()
    assert any("depends on **2** input cells" in m.value for m in app.markdown)
    assert app.query_params["cz_pos"] in ("1", ["1"]) and app.query_params["cz_dilated"] in (
        "0",
        ["0"],
    )


def test_bad_link_values_are_ignored_as_text() -> None:
    app = page(cz_layers="99", gc_in="[x](http://e.example)")
    warning = app.warning[0].value
    assert "Ignored part of the link" in warning and "cz\\_layers" in warning
    assert "\\[x\\]" in warning

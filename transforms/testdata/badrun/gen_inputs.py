#!/usr/bin/env python3
"""Writes the input bodies of the BadRun golden tests (testdata/badrun/input/).

The bodies are rendered the way robot-server renders them: success bodies with
Python's json.dumps defaults (", " and ": " separators, non-ASCII escaped as
\\uXXXX), error bodies compact (",", ":"), no trailing newline. The run objects
below are modelled on runs recorded from a real robot-server (an OT-2 in
simulation, see ../../../testdata/recordings/robot-server-badruns), with new ids.

The files are committed; rerun this only to change an input, then regenerate the
golden files with `go test ./transforms -run TestBadRunGolden -update` and
review every changed golden by hand.
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "input")

# Run ids: the first 8 hex digits name the run in the Go test table.
G1 = "3f2b8c1e-6a4d-4e0b-9c7a-1d5e8f2a4b60"  # simpleV7, succeeded, modules/labware/liquids/offset
G2 = "7c91d4a2-0b3e-4f58-a6d1-2e9f0c8b7a13"  # wait_for_resume, stopped (play, stop)
G3 = "b5e0a7f3-2c19-4d6b-8e4a-9f1c3d7e5b28"  # python protocol, failed with a wrapped error
G4 = "e4a6c2d8-91f7-4b3a-b0e5-7d2c8a6f1e94"  # succeeded, runTimeParameters and outputFileIds
G5 = "0d8f3b6a-5e2c-47a9-8b1d-c6e4f2a9d357"  # basic transfer, succeeded, two offsets
G6 = "a9c1e5f7-3b8d-4c2e-9f6a-0e7d1b4c8a52"  # the current run: idle, no protocol
BN = "1a7e9c3b-d2f4-4e86-a05b-3c9d7f1e2b84"  # BadRun NO_SUMMARY (killed while running)
BA = "c6d2f8a4-7e1b-4935-b8c0-5a3f9e2d6c17"  # BadRun bad actions (summary kept)
BS = "58b3e1d9-a4c6-4f2a-9d7e-b1f0c3a8e652"  # BadRun bogus summary (pydantic ValidationError)
BD = "f0e4b7c2-8a9d-4b15-a3e6-6d2c1f9b0a78"  # development-era BadRun: dataError, no "ok"
BB = "2c5a9e7d-6f13-4a8b-b4c2-8e1d0f7a3c96"  # BadRun where both summary and actions failed
BC = "94f1d6b8-0c7e-4d2a-8b5f-3a6e9c2d1f47"  # BadRun that is the current run

P_SIMPLE = "26c6bd34-48da-43d0-8e1d-1d5333d588bd"
P_WAIT = "17b40ce1-4352-4f79-963b-3500c661566f"
P_TRANSFER = "94de7a25-b524-4266-aeee-4c5881457976"
P_PARAMS = "6e3b9a1f-2d4c-4e8a-9b7f-0c5d8e2a1b36"


def action(aid, at, kind):
    return {"id": aid, "createdAt": at, "actionType": kind}


TRASH = {"id": "fixedTrash", "loadName": "opentrons_1_trash_1100ml_fixed",
         "definitionUri": "opentrons/opentrons_1_trash_1100ml_fixed/1", "location": {"slotName": "12"}}


def run(rid, created, status, current=False, actions=(), errors=(), pipettes=(), modules=(),
        labware=(), liquids=(), offsets=(), params=(), files=(), protocol=None, completed=None,
        started=None, ok=True, data_error=None):
    r = {"id": rid}
    if ok is not None:
        r["ok"] = ok
    if data_error is not None:
        r["dataError"] = data_error
    r.update({"createdAt": created, "status": status, "current": current,
              "actions": list(actions), "errors": list(errors), "hasEverEnteredErrorRecovery": False,
              "pipettes": list(pipettes), "modules": list(modules), "labware": list(labware),
              "liquids": list(liquids), "labwareOffsets": list(offsets),
              "runTimeParameters": list(params), "outputFileIds": list(files)})
    if protocol is not None:
        r["protocolId"] = protocol
    if completed is not None:
        r["completedAt"] = completed
    if started is not None:
        r["startedAt"] = started
    return r


def simple_v7_state():
    return dict(
        pipettes=[{"id": "pipetteId", "pipetteName": "p10_single", "mount": "left"}],
        modules=[{"id": "magneticModuleId", "model": "magneticModuleV1", "location": {"slotName": "3"}, "serialNumber": "mag-1234"},
                 {"id": "temperatureModuleId", "model": "temperatureModuleV1", "location": {"slotName": "1"}, "serialNumber": "temp-123"}],
        labware=[TRASH,
                 {"id": "sourcePlateId", "loadName": "foo_8_plate_33ul", "definitionUri": "example/foo_8_plate_33ul/1",
                  "location": {"moduleId": "temperatureModuleId"}, "displayName": "Source Plate"},
                 {"id": "destPlateId", "loadName": "foo_8_plate_33ul", "definitionUri": "example/foo_8_plate_33ul/1",
                  "location": {"moduleId": "magneticModuleId"}, "displayName": "Sample Collection Plate"},
                 {"id": "tipRackId", "loadName": "opentrons_96_tiprack_10ul", "definitionUri": "opentrons/opentrons_96_tiprack_10ul/1",
                  "location": {"slotName": "8"}, "displayName": "Opentrons 96 Tip Rack 10 \u00b5L"}],
        liquids=[{"id": "waterId", "displayName": "Water", "description": "Liquid H2O", "displayColor": "#7332a8"}],
    )


TB_LOAD_INSTRUMENT = (
    "  File \"/opt/opentrons/api/src/opentrons/protocols/execution/execute_python.py\", line 160, in exec_run\n"
    "    exec(\"run(__context)\", new_globs)\n\n"
    "  File \"<string>\", line 1, in <module>\n\n"
    "  File \"serial_dilution.py\", line 14, in run\n\n"
    "  File \"/opt/opentrons/api/src/opentrons/protocol_api/protocol_context.py\", line 989, in load_instrument\n"
    "    instrument_core = self._core.load_instrument(\n"
    "                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^\n\n"
    "  File \"/opt/opentrons/api/src/opentrons/hardware_control/backends/simulator.py\", line 265, in _attached_to_mount\n"
    "    raise RuntimeError(\n")

TB_ACTIONS = (
    "  File \"/opt/opentrons/robot-server/robot_server/runs/run_store.py\", line 654, in _convert_row_to_run\n"
    "    actions = [\n              ^\n\n"
    "  File \"/opt/opentrons/robot-server/robot_server/runs/run_store.py\", line 658, in <listcomp>\n"
    "    actionType=RunActionType(action_row.action_type),\n"
    "               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n\n"
    "  File \"/usr/lib/python3.10/enum.py\", line 717, in __call__\n"
    "    return cls.__new__(cls, value)\n           ^^^^^^^^^^^^^^^^^^^^^^^\n\n"
    "  File \"/usr/lib/python3.10/enum.py\", line 1133, in __new__\n    raise ve_exc\n")

TB_SUMMARY = (
    "  File \"/opt/opentrons/robot-server/robot_server/runs/run_store.py\", line 388, in get_state_summary\n"
    "    json_to_pydantic(StateSummary, row.state_summary)\n\n"
    "  File \"/opt/opentrons/robot-server/robot_server/persistence/pydantic.py\", line 28, in json_to_pydantic\n"
    "    return parse_raw_as(model, json_str)\n           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n\n"
    "  File \"/usr/lib/python3.10/site-packages/pydantic/main.py\", line 342, in __init__\n"
    "    raise validation_error\n")

MISSING = ["status", "errors", "labware", "pipettes", "modules", "labwareOffsets"]
VALIDATION_MSG = ("pydantic.error_wrappers.ValidationError: 6 validation errors for ParsingModel[StateSummary]\n"
                  + "\n".join("__root__ -> %s\n  field required (type=value_error.missing)" % f for f in MISSING))
VALIDATION_ERRS = "[ErrorWrapper(exc=ValidationError(model='StateSummary', errors=[%s]), loc=('__root__',))]" % ", ".join(
    "{'loc': ('%s',), 'msg': 'field required', 'type': 'value_error.missing'}" % f for f in MISSING)

ACTIONS_DETAIL = "This run has invalid or unknown actions. It has likely been saved in a future version of software."
ACTIONS_WRAPPED = {"type": "ValueError", "code": "4000",
                   "message": "ValueError: 'someFutureAction' is not a valid RunActionType",
                   "detail": {"args": "(\"'someFutureAction' is not a valid RunActionType\",)",
                              "traceback": TB_ACTIONS, "class": "ValueError"}, "wrapping": []}
SUMMARY_WRAPPED = {"type": "ValidationError", "code": "4000", "message": VALIDATION_MSG,
                   "detail": {"args": "(%s, <class 'pydantic.main.ParsingModel[StateSummary]'>)" % VALIDATION_ERRS,
                              "model": "<class 'pydantic.main.ParsingModel[StateSummary]'>",
                              "raw_errors": VALIDATION_ERRS, "traceback": TB_SUMMARY, "class": "ValidationError"},
                   "wrapping": []}


def data_error(detail, wrapping=(), kind=None, title="Run Data Error", eid="RunDataError"):
    return {"id": eid, "title": title, "detail": detail,
            "meta": {"type": "InvalidStoredData", "code": "4008", "message": detail,
                     "detail": ({"kind": kind} if kind else {}), "wrapping": list(wrapping)},
            "errorCode": "4008"}


RUNS = {
    G1: run(G1, "2024-10-21T09:12:03.114532+00:00", "succeeded",
            actions=[action("5b0e2d71-8c3f-4a96-b1e4-7d9a2c6f0e35", "2024-10-21T09:12:03.162087+00:00", "play")],
            offsets=[{"id": "e81c4a07-3d2b-4f6e-9a58-b0c7d1e2f394", "createdAt": "2024-10-21T09:12:03.151266+00:00",
                      "definitionUri": "opentrons/opentrons_96_tiprack_10ul/1", "location": {"slotName": "8"},
                      "vector": {"x": 0.4, "y": -0.3, "z": 0.8}}],
            protocol=P_SIMPLE, completed="2024-10-21T09:12:03.219664+00:00",
            started="2024-10-21T09:12:03.170185+00:00", **simple_v7_state()),
    G2: run(G2, "2024-10-21T16:40:51.569553+00:00", "stopped",
            actions=[action("c432ca48-f7c4-46fd-983e-0a1b2c3d4e5f", "2024-10-21T16:40:51.589409+00:00", "play"),
                     action("68fa3e0b-b287-4e33-b82b-5f4e3d2c1b0a", "2024-10-21T16:40:53.107581+00:00", "stop")],
            labware=[TRASH], protocol=P_WAIT, completed="2024-10-21T16:40:53.122602+00:00",
            started="2024-10-21T16:40:51.594871+00:00"),
    G3: run(G3, "2024-10-22T14:02:17.278695+00:00", "failed",
            actions=[action("d30f0cfb-094f-4823-9da4-6e5d4c3b2a19", "2024-10-22T14:02:17.302343+00:00", "play")],
            errors=[{"id": "d278c7b3-faa0-4c42-9509-1a2b3c4d5e6f", "createdAt": "2024-10-22T14:02:17.330758+00:00",
                     "isDefined": False, "errorType": "ExceptionInProtocolError", "errorCode": "4000",
                     "detail": "RuntimeError [line 14]: mount RIGHT: expected instrument p20_single_gen2 but got p300_single_v1",
                     "errorInfo": {},
                     "wrappedErrors": [{"id": "d278c7b3-faa0-4c42-9509-1a2b3c4d5e6f", "createdAt": "2024-10-22T14:02:17.330758+00:00",
                                        "isDefined": False, "errorType": "PythonException", "errorCode": "4000",
                                        "detail": "RuntimeError: mount RIGHT: expected instrument p20_single_gen2 but got p300_single_v1",
                                        "errorInfo": {"args": "('mount RIGHT: expected instrument p20_single_gen2 but got p300_single_v1',)",
                                                      "traceback": TB_LOAD_INSTRUMENT, "class": "RuntimeError"},
                                        "wrappedErrors": []}]}],
            labware=[TRASH, {"id": "labware-0", "loadName": "opentrons_96_tiprack_20ul",
                             "definitionUri": "opentrons/opentrons_96_tiprack_20ul/1", "location": {"slotName": "11"}}],
            protocol="30573821-ce6e-4f44-8cb5-b34035ba8935", completed="2024-10-22T14:02:17.334166+00:00",
            started="2024-10-22T14:02:17.309663+00:00"),
    G4: run(G4, "2024-10-23T11:25:44.801237+00:00", "succeeded",
            actions=[action("0f6e1d2c-3b4a-4596-8877-a6b5c4d3e2f1", "2024-10-23T11:25:44.862910+00:00", "play")],
            pipettes=[{"id": "pipette-0", "pipetteName": "p300_single", "mount": "right"}],
            labware=[TRASH, {"id": "labware-0", "loadName": "nest_12_reservoir_15ml",
                             "definitionUri": "opentrons/nest_12_reservoir_15ml/1", "location": {"slotName": "2"},
                             "displayName": "R\u00e9servoir"}],
            params=[{"type": "int", "displayName": "Sample count", "variableName": "sample_count",
                     "description": "How many samples to process.", "value": 8, "default": 24, "min": 1, "max": 96},
                    {"type": "bool", "displayName": "Dry run", "variableName": "dry_run",
                     "description": "Skip tip pick-up and liquid handling.", "value": False, "default": False},
                    {"type": "csv_file", "displayName": "Plate map", "variableName": "plate_map",
                     "description": "Where each sample goes.",
                     "file": {"id": "b7d2e9f4-1c3a-4e5b-8d6f-0a9c8b7e6d54", "name": "plate_map.csv"}}],
            files=["c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"],
            protocol=P_PARAMS, completed="2024-10-23T11:26:02.415008+00:00",
            started="2024-10-23T11:25:44.870102+00:00"),
    G5: run(G5, "2024-10-24T08:48:20.990666+00:00", "succeeded",
            actions=[action("8f24699e-8ed6-4bc1-9e1c-0f1e2d3c4b5a", "2024-10-24T08:48:21.010367+00:00", "play")],
            pipettes=[{"id": "pipette-0", "pipetteName": "p300_single", "mount": "right"}],
            labware=[TRASH,
                     {"id": "labware-0", "loadName": "corning_96_wellplate_360ul_flat",
                      "definitionUri": "opentrons/corning_96_wellplate_360ul_flat/1", "location": {"slotName": "1"}},
                     {"id": "labware-1", "loadName": "opentrons_96_tiprack_300ul",
                      "definitionUri": "opentrons/opentrons_96_tiprack_300ul/1", "location": {"slotName": "2"},
                      "offsetId": "5d9ed7ec-bb61-4692-8594-1e2d3c4b5a69"}],
            offsets=[{"id": "635c2a08-3ca0-4fe3-b561-7a8b9c0d1e2f", "createdAt": "2024-10-24T08:48:21.001753+00:00",
                      "definitionUri": "opentrons/corning_96_wellplate_360ul_flat/2", "location": {"slotName": "1"},
                      "vector": {"x": -0.2, "y": 0.1, "z": 0.5}},
                     {"id": "5d9ed7ec-bb61-4692-8594-1e2d3c4b5a69", "createdAt": "2024-10-24T08:48:21.001855+00:00",
                      "definitionUri": "opentrons/opentrons_96_tiprack_300ul/1", "location": {"slotName": "2"},
                      "vector": {"x": 0.0, "y": 0.3, "z": -0.1}}],
            protocol=P_TRANSFER, completed="2024-10-24T08:48:21.063494+00:00",
            started="2024-10-24T08:48:21.015757+00:00"),
    G6: run(G6, "2024-10-24T16:12:21.581389+00:00", "idle", current=True),
    BN: run(BN, "2024-10-22T10:31:23.145766+00:00", "stopped", ok=False,
            data_error=data_error("There was no engine state data for this run."),
            actions=[action("f38701cc-f1c2-4646-a94e-2b3c4d5e6f70", "2024-10-22T10:31:23.161145+00:00", "play")],
            protocol=P_WAIT),
    BA: run(BA, "2024-10-21T15:07:50.736426+00:00", "succeeded", ok=False,
            data_error=data_error(ACTIONS_DETAIL, [ACTIONS_WRAPPED], kind="bad-actions"),
            labware=[TRASH], protocol=P_WAIT, completed="2024-10-21T15:08:20.772327+00:00",
            started="2024-10-21T15:07:50.762279+00:00"),
    BS: run(BS, "2024-10-23T13:48:30.246935+00:00", "stopped", ok=False,
            data_error=data_error("Could not load stored StateSummary", [SUMMARY_WRAPPED]),
            actions=[action("56aac8b8-da55-4eaf-a90c-3d4e5f607182", "2024-10-23T13:48:30.274949+00:00", "play")],
            protocol=P_TRANSFER),
    BD: run(BD, "2024-10-24T10:55:02.004413+00:00", "stopped", ok=None,
            data_error={"id": "RunLoadingError", "title": "Run Loading Error",
                        "detail": "There was no engine state data for this run.", "errorCode": "4008"},
            actions=[action("a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d", "2024-10-24T10:55:02.031876+00:00", "play")],
            protocol=P_SIMPLE),
    BB: run(BB, "2024-10-23T19:20:11.670045+00:00", "stopped", ok=False,
            data_error=data_error("Data on this run is not valid. The run may have been created on a future software version.",
                                  [ACTIONS_WRAPPED, SUMMARY_WRAPPED]),
            protocol=P_WAIT),
    BC: run(BC, "2024-10-24T16:30:05.118822+00:00", "stopped", current=True, ok=False,
            data_error=data_error("There was no engine state data for this run."),
            actions=[action("7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b", "2024-10-24T16:30:05.140087+00:00", "play")],
            protocol=P_SIMPLE),
}


def dumps(o):
    return json.dumps(o).encode()  # robot-server's success formatting


def compact(o):
    return json.dumps(o, separators=(",", ":")).encode()  # robot-server's error formatting


def run_list(ids, current):
    links = {"current": {"href": "/runs/" + current}} if current else {}
    return {"data": [RUNS[i] for i in ids], "links": links, "meta": {"cursor": 0, "totalLength": len(ids)}}


def not_found(rid):
    return {"errors": [{"id": "RunNotFound", "title": "Run Not Found",
                        "detail": "Error 4000 GENERAL_ERROR (RunNotFoundError): Run %s was not found." % rid,
                        "errorCode": "4000"}]}


# The stored runs of the "full" robot, in creation order: 6 good, 3 bad.
FULL = [G1, BA, G2, BN, G3, G4, BS, G5, G6]

FILES = {
    # lists
    "list_bad_first.json": dumps(run_list([BA, G2, G3, G6], G6)),
    "list_bad_middle.json": dumps(run_list([G1, BA, G2, G6], G6)),
    "list_bad_last.json": dumps(run_list([G1, G2, BS], None)),
    "list_bad_adjacent.json": dumps(run_list([G1, BA, G2, BN, BS, G5, BD, G6], G6)),
    "list_all_bad.json": dumps(run_list([BA, BN, BS, BD], None)),
    "list_none_bad.json": dumps(run_list([G1, G2, G3, G6], G6)),
    "list_current_bad.json": dumps(run_list([G1, BN, BC], BC)),
    "list_no_links.json": dumps({"data": [RUNS[G1], RUNS[BS]], "meta": {"cursor": 0, "totalLength": 2}}),
    "list_empty.json": dumps(run_list([], None)),
    # the full robot and pageLength windows of it (the newest k runs, oldest first)
    "full.json": dumps(run_list(FULL, G6)),
    "full_page0.json": dumps(run_list([], G6)),
    "full_page2.json": dumps(run_list(FULL[-2:], G6)),
    "full_page3.json": dumps(run_list(FULL[-3:], G6)),
    "full_page5.json": dumps(run_list(FULL[-5:], G6)),
    "full_page8.json": dumps(run_list(FULL[-8:], G6)),
    # a robot whose current run is bad, and windows that leave it out
    "curbad_page0.json": dumps(run_list([], BC)),
    "curbad_page1.json": dumps(run_list([G5], BC)),
    "curgood_page1.json": dumps(run_list([G5], G6)),
    # single runs
    "run_good.json": dumps({"data": RUNS[G5]}),
    "run_good_current.json": dumps({"data": RUNS[G6]}),
    "run_bad_actions.json": dumps({"data": RUNS[BA]}),
    "run_bad_nosummary.json": dumps({"data": RUNS[BN]}),
    "run_bad_summary.json": dumps({"data": RUNS[BS]}),
    "run_bad_both.json": dumps({"data": RUNS[BB]}),
    "run_bad_dev.json": dumps({"data": RUNS[BD]}),
    "run_bad_current.json": dumps({"data": RUNS[BC]}),
    "run_ok_false_only.json": dumps({"data": {k: v for k, v in RUNS[BN].items() if k != "dataError"}}),
    # what is not a run body
    "error_run_not_found.json": compact(not_found(BN)),
    "error_run_already_active.json": compact({"errors": [{"id": "RunAlreadyActive", "title": "Run Already Active",
                                                          "detail": "Cannot create a new run while run %s is active." % G6,
                                                          "errorCode": "4000"}]}),
    "error_unexpected.json": compact({"errors": [{"id": "UnexpectedError", "title": "Unexpected Internal Error",
                                                  "detail": "OperationalError: database is locked", "errorCode": "4000"}]}),
    "data_string.json": dumps({"data": "not a run"}),
    "data_null.json": dumps({"data": None}),
    "data_missing.json": dumps({"links": {}, "meta": {"cursor": 0, "totalLength": 0}}),
    "data_not_objects.json": dumps({"data": [RUNS[BN], "x", 1, None, [RUNS[BS]]], "links": {},
                                    "meta": {"cursor": 0, "totalLength": 5}}),
    "data_nested_list.json": dumps({"data": [[RUNS[BN]]], "links": {}, "meta": {"cursor": 0, "totalLength": 1}}),
    "top_level_array.json": dumps([RUNS[BN], RUNS[G1]]),
    "delete_ok.json": b"{}",
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, body in FILES.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(body)
    full = FILES["list_bad_middle.json"]
    # Cut mid-way through the bad run, and just before the final brace.
    with open(os.path.join(OUT, "truncated_mid.json"), "wb") as f:
        f.write(full[: full.index(b'"dataError"') + 40])
    with open(os.path.join(OUT, "truncated_end.json"), "wb") as f:
        f.write(full[:-1])
    with open(os.path.join(OUT, "not_json.txt"), "wb") as f:
        f.write(b"Internal Server Error")
    with open(os.path.join(OUT, "html.txt"), "wb") as f:
        f.write(b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
    with open(os.path.join(OUT, "empty.txt"), "wb") as f:
        f.write(b"")


if __name__ == "__main__":
    main()

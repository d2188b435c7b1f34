"""Commands for researchers who label voices: label export, import and fit, and eval profiles."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.commands.common import (
    DEMO_WAREHOUSE,
    EXIT_CONFIG,
    EXIT_FAILED,
    check_config,
    console,
    err,
    evidence_model,
    fail,
    input_error,
    plural,
    profile_model,
    write_json_line,
)
from flows.commands.options import (
    EvidenceOption,
    LabelConfigOption,
    ProfileColOption,
    ProfileModelOption,
    TextColOption,
    VoiceColOption,
    WarehouseOption,
)
from flows.commands.tables import confusion_matrix, confusion_table, protocol_table
from profiles.evidence import EVIDENCE_HANDSET
from profiles.model import load_model


def label_context(config: Path | None, warehouse: Path | None) -> tuple[Path, Any, int, Any]:
    """Warehouse path, evidence model, period length and NLP version from the config or defaults."""
    from nlp.version import BackendOptions, nlp_version
    from profiles.evidence import evidence_for

    if config is not None:
        settings = check_config(config)
        path = warehouse or settings.warehouse.path
        return (
            path,
            evidence_for(load_model(settings.profile_model), settings.estimation.evidence),
            settings.estimation.period_days,
            nlp_version(settings.nlp.backend_options()),
        )
    path = warehouse or DEMO_WAREHOUSE
    return path, evidence_for(load_model("citisens")), 90, nlp_version(BackendOptions())


def labelled_voices(evidence: Any, path: Path, text_col: str, voice_col: str | None, label_col: str) -> Any:
    """The labelled voices of a CSV under an evidence model; says how many were left out as not Dutch."""
    from nlp.pipeline import get_enricher
    from profiles.adhoc import LabelledInputError, read_labelled_voices

    try:
        labelled = read_labelled_voices(get_enricher(), evidence, path, text_col, voice_col, label_col)
    except LabelledInputError as exc:
        input_error(exc)
    if labelled.n_not_dutch:
        err.print(
            f"{path}: {plural(labelled.n_not_dutch, 'labelled voice')} without a Dutch post left out",
            markup=False,
        )
    return labelled


def label_export(
    n: Annotated[int, typer.Option("--n", min=1, help="How many voices to sample.")] = 300,
    out: Annotated[Path, typer.Option(help="CSV to write.")] = Path("labels.csv"),
    as_of: Annotated[
        str | None, typer.Option(help="Last day of the period, YYYY-MM-DD (default today).")
    ] = None,
    config: LabelConfigOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Write a stratified sample of voices with their texts and an empty profile column.

    The file has a random voice id per voice, never an author key or a predicted profile.

    Example: betrokken label export --n 300 --out labels.csv
    """
    from datetime import UTC, datetime

    from warehouse.db import connect
    from warehouse.labels import export_sample

    path, evidence, days, version = label_context(config, warehouse)
    day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    with connect(path) as con:
        count = export_sample(con, evidence, version, day, days, n, out)
    console.print(
        f"{plural(count, 'voice')} written to {out}; fill in the profile column with one of: "
        f"{', '.join(evidence.model.profile_ids)}",
        markup=False,
    )


def label_import(
    csv_path: Annotated[Path, typer.Argument(help="The labelled CSV from label export.")],
    config: LabelConfigOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Store researchers' labels; from 30 labelled voices on, estimates are calibrated with them (PACC).

    Example: betrokken label import labels.csv
    """
    from warehouse.db import connect
    from warehouse.labels import LabelError, import_labels

    path, evidence, _, _ = label_context(config, warehouse)
    try:
        with connect(path) as con:
            count = import_labels(con, csv_path, evidence.model.profile_ids, evidence.model.id)
    except LabelError as exc:
        fail(str(exc), EXIT_CONFIG, "Label error")
    console.print(f"{plural(count, 'label')} stored for profile model {evidence.model.id}", markup=False)


def eval_profiles(
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Labelled voices to measure on (the protocol).")
    ] = None,
    text_col: TextColOption = "text",
    voice_col: VoiceColOption = "voice",
    label_col: ProfileColOption = "profile",
    fit_csv: Annotated[
        Path | None, typer.Option("--fit-csv", help="Labelled voices to fit the evidence on first.")
    ] = None,
    mixes: Annotated[int, typer.Option("--mixes", min=2, help="Profile mixes to draw.")] = 200,
    voices: Annotated[int, typer.Option("--voices", min=10, help="Voices drawn per mix.")] = 150,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the mixes and draws.")] = 0,
    model: ProfileModelOption = "citisens",
    evidence: EvidenceOption = EVIDENCE_HANDSET,
    config: LabelConfigOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """How good the profile shares are, measured on labelled voices with known mixes.

    With --csv: the artificial-prevalence protocol. It draws --mixes profile mixes (half around the
    population shares, half strongly shifted), --voices voices for each from the CSV, estimates
    the shares with every method and prints per method: MAE, MAE of the population shares alone,
    their ratio, 90% coverage, false alarms, false reassurance, per-voice top-1 and log loss. The
    last line is one JSON object for the default method, with all methods under "methods". Fit on
    one set (--fit-csv) and measure on another; without --fit-csv the hand-set profile file is
    measured (--evidence to measure another fit: never on voices it was fitted on).

    Without --csv: the confusion matrix of the evidence model on the voices labelled in the
    warehouse (`label export` / `label import`).

    Example: betrokken eval profiles --csv writer_b.csv --fit-csv writer_a.csv
    """
    if csv_path is None:
        _eval_warehouse_labels(config, warehouse)
        return
    from profiles.fit import FitError, fit_evidence
    from profiles.protocol import default_first, evaluate

    chosen_model = profile_model(model)
    measured_evidence = evidence_model(chosen_model, EVIDENCE_HANDSET if fit_csv else evidence)
    if fit_csv is not None:
        from profiles.evidence import EvidenceModel

        train = labelled_voices(measured_evidence, fit_csv, text_col, voice_col, label_col)
        try:
            fitted = fit_evidence(chosen_model, train.voices, source=str(fit_csv))
        except FitError as exc:
            input_error(exc)
        measured_evidence = EvidenceModel(chosen_model, fitted)
    elif measured_evidence.fitted is not None:
        source = measured_evidence.fitted.provenance.get("source", "?")
        err.print(f"The evidence was fitted on {source}: never measure it on those voices.", markup=False)
    measured = labelled_voices(measured_evidence, csv_path, text_col, voice_col, label_col)
    if fit_csv is not None and (fit_csv.resolve() == csv_path.resolve() or train.keys & measured.keys):
        fail(
            f"--fit-csv {fit_csv} and --csv {csv_path} share voices: a figure "
            "measured on the voices fitted on says nothing; measure on another set",
            EXIT_CONFIG,
            "Input error",
        )
    scores = default_first(
        evaluate(measured_evidence, measured.voices, n_mixes=mixes, n_voices=voices, seed=seed)
    )
    fitted_on = f"fitted on {fit_csv}" if fit_csv else f"evidence: {evidence}"
    title = f"{plural(len(measured.voices), 'labelled voice')}, {mixes} mixes of {voices}; {fitted_on}"
    console.print(protocol_table(title, scores))
    console.print(f"per voice: top-1 {scores[0].top1:.3f}, log loss {scores[0].log_loss:.3f}")
    write_json_line({**scores[0].as_dict(), "methods": [s.as_dict() for s in scores]})


def label_fit(
    csv_path: Annotated[Path, typer.Option("--csv", help="Labelled voices (e.g. a filled-in label export).")],
    out: Annotated[Path, typer.Option(help="Fitted evidence file to write (.npz).")],
    text_col: TextColOption = "texts",
    voice_col: VoiceColOption = "voice_id",
    label_col: ProfileColOption = "profile",
    model: ProfileModelOption = "citisens",
    source: Annotated[
        str | None,
        typer.Option(help="Where the labels come from, kept in the file (default: the CSV's name)."),
    ] = None,
) -> None:
    """Fit the profile evidence on labelled voices; use it with `[estimation] evidence = "FILE"`.

    The profile file's ratios are the prior; the file keeps the fitted weights and cross-fitted
    posteriors of the labelled voices (no text, no author). Measure a fit with
    `eval profiles --fit-csv` on voices it was not fitted on.

    Example: betrokken label fit --csv labels.csv --out data/citisens.fit.npz
    """
    from profiles.fit import FitError, fit_evidence

    chosen_model = profile_model(model)
    handset = evidence_model(chosen_model, EVIDENCE_HANDSET)
    voices = labelled_voices(handset, csv_path, text_col, voice_col, label_col).voices
    try:
        fitted = fit_evidence(chosen_model, voices, source=source or csv_path.name)
    except FitError as exc:
        input_error(exc)
    try:
        fitted.save(out)
    except OSError as exc:
        fail(f"--out {out}: {exc}", EXIT_CONFIG, "Output error")
    console.print(
        f"fitted on {plural(len(voices), 'labelled voice')} ({fitted.provenance['per_profile']}); "
        f"written to {out}",
        markup=False,
    )


def _eval_warehouse_labels(config: Path | None, warehouse: Path | None) -> None:
    """Confusion matrix and accuracy of the evidence model on the voices labelled in the warehouse."""
    from warehouse.db import connect
    from warehouse.labels import labelled_posteriors

    path, evidence, _, _ = label_context(config, warehouse)
    with connect(path) as con:
        posteriors, labels = labelled_posteriors(con, evidence)
    ids = evidence.model.profile_ids
    if len(labels) == 0:
        fail(
            "No labelled voices yet: run `betrokken label export`, fill in the file, then `label import`.",
            EXIT_FAILED,
        )
    predicted = posteriors.argmax(axis=1)
    confusion = confusion_matrix(labels, predicted, len(ids))
    accuracy = float((predicted == labels).mean())
    title = (
        f"{plural(len(labels), 'labelled voice')}, accuracy {accuracy:.3f} (rows: label, columns: evidence)"
    )
    console.print(confusion_table(title, ids, confusion))
    write_json_line(
        {
            "task": "profiles",
            "n": len(labels),
            "accuracy": round(accuracy, 4),
            "labels": ids,
            "confusion": confusion.tolist(),
        }
    )

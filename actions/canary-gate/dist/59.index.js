export const id = 59;
export const ids = [59];
export const modules = {

/***/ 685059:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   replayProvider: () => (/* binding */ replayProvider),
/* harmony export */   unitFactor: () => (/* binding */ unitFactor)
/* harmony export */ });
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(983916);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(678075);
/**
 * Replay provider: serves the raw values recorded in a measurements file (see
 * `../measurements.ts`) at the times they were measured, so changed criteria (thresholds,
 * limits, min-sample, confidence) can be judged against a real canary afterwards.
 *
 * The recording may come from a different version of the criteria:
 * - a metric or query role that was not recorded has no data, with one warning naming it;
 * - a query whose text changed since the recording is served from the recording with a warning;
 * - a metric whose unit changed between `ratio` and `percent`, or `seconds` and
 *   `milliseconds`, has its recorded values (and baseline) converted to the new unit; any other
 *   unit change is a {@link ConfigError} at the metric's line, since the values cannot be
 *   compared with the new threshold;
 * - a recorded count-based rate replays as a `query` metric with its per-interval ratio.
 * The interval must match the recording's (checked by `runGate`).
 */


const SCALE = {
    ratio: { family: 'fraction', perBase: 1 },
    percent: { family: 'fraction', perBase: 100 },
    seconds: { family: 'time', perBase: 1 },
    milliseconds: { family: 'time', perBase: 1000 },
};
/**
 * The factor that converts a value recorded in `from` into `to`, or `undefined` when the two
 * units cannot be converted (`none` on either side is taken as-is: factor 1).
 */
function unitFactor(from, to) {
    if (from === to || from === 'none' || to === 'none')
        return 1;
    const a = SCALE[from];
    const b = SCALE[to];
    if (!a || !b || a.family !== b.family)
        return undefined;
    return b.perBase / a.perBase;
}
/**
 * Creates a provider over a recorded gate result.
 * @param metrics - the criteria being replayed (for unit conversion); optional
 * @throws ConfigError (at the metric's file and line) when a metric's unit changed to one its
 *   recorded values cannot be converted to
 */
function replayProvider(recording, logger, metrics = []) {
    const factors = new Map();
    for (const c of metrics) {
        const rec = recording.metrics.find((m) => m.name === c.name);
        if (!rec || !rec.unit)
            continue;
        const from = rec.unit;
        const f = unitFactor(from, c.unit);
        if (f === undefined) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ConfigError */ .xL(`metric '${c.name}' has unit ${c.unit} but was recorded in ${from}; its recorded values cannot be judged against the new threshold (replay it with unit: ${from})`, c.location, 'replay-file');
        }
        if (f !== 1) {
            logger.info(`replay: '${c.name}' was recorded in ${from}; values converted to ${c.unit}`);
            factors.set(c.name, f);
        }
        else if (from !== c.unit) {
            logger.warning(`replay: '${c.name}' was recorded in ${from} and is now ${c.unit}; values are replayed unchanged`);
        }
    }
    const warned = new Set();
    const warnOnce = (key, message) => {
        if (warned.has(key))
            return;
        warned.add(key);
        logger.warning(message);
    };
    function series(ref) {
        const metric = recording.metrics.find((m) => m.name === ref.metric);
        if (!metric) {
            warnOnce(ref.metric, `replay: metric '${ref.metric}' is not in the recording; it has no data`);
            return [];
        }
        const queries = metric.queries ?? {};
        const recorded = queries[ref.role];
        const key = `${ref.metric}/${ref.role}`;
        const countsAsValue = ref.role === 'value' && queries.numerator !== undefined;
        if (recorded === undefined && !countsAsValue) {
            warnOnce(key, `replay: the recording has no ${ref.role} query for '${ref.metric}' (recorded with other criteria); it has no data`);
            return [];
        }
        if (recorded !== undefined && recorded !== ref.query) {
            warnOnce(key, `replay: the ${ref.role} query of '${ref.metric}' differs from the recorded one; replaying the recorded values`);
        }
        const scale = ref.role === 'value' || ref.role === 'baseline' ? (factors.get(ref.metric) ?? 1) : 1;
        return metric.measurements.map((m) => {
            const v = ref.role === 'value' ? m.value : m[ref.role];
            return {
                t: Date.parse(m.at),
                v: typeof v === 'number' && Number.isFinite(v) ? v * scale : null,
            };
        });
    }
    return {
        name: 'replay',
        async instant(ref, atMs, intervalMs) {
            return (0,_types_js__WEBPACK_IMPORTED_MODULE_1__/* .alignToSteps */ .Cb)(series(ref), atMs, atMs, intervalMs)[0].v;
        },
        async range(ref, startMs, endMs, stepMs) {
            return (0,_types_js__WEBPACK_IMPORTED_MODULE_1__/* .alignToSteps */ .Cb)(series(ref), startMs, endMs, stepMs);
        },
    };
}


/***/ })

};

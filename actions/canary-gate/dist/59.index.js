export const id = 59;
export const ids = [59];
export const modules = {

/***/ 685059:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   replayProvider: () => (/* binding */ replayProvider)
/* harmony export */ });
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(678075);

/** Creates a provider over a recorded gate result. */
function replayProvider(recording, logger) {
    const warned = new Set();
    function series(ref) {
        const metric = recording.metrics.find((m) => m.name === ref.metric);
        if (!metric) {
            if (!warned.has(ref.metric))
                logger.warning(`replay: metric '${ref.metric}' is not in the recording`);
            warned.add(ref.metric);
            return [];
        }
        const recorded = metric.queries[ref.role];
        const key = `${ref.metric}/${ref.role}`;
        if (recorded !== undefined && recorded !== ref.query && !warned.has(key)) {
            warned.add(key);
            logger.warning(`replay: the ${ref.role} query of '${ref.metric}' differs from the recorded one; replaying the recorded values`);
        }
        return metric.measurements.map((m) => {
            const v = ref.role === 'value' ? m.value : m[ref.role];
            return { t: Date.parse(m.at), v: typeof v === 'number' && Number.isFinite(v) ? v : null };
        });
    }
    return {
        name: 'replay',
        async instant(ref, atMs, intervalMs) {
            return (0,_types_js__WEBPACK_IMPORTED_MODULE_0__/* .alignToSteps */ .Cb)(series(ref), atMs, atMs, intervalMs)[0].v;
        },
        async range(ref, startMs, endMs, stepMs) {
            return (0,_types_js__WEBPACK_IMPORTED_MODULE_0__/* .alignToSteps */ .Cb)(series(ref), startMs, endMs, stepMs);
        },
    };
}


/***/ })

};

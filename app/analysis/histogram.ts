// The histogram lives with the run tally (app/api/tally.ts), which runs
// anywhere: the UI and the summary must compute percentiles one way.
export { Histogram, type HistogramSummary } from '../api/tally.js';

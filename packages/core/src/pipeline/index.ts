// Public exports of the pipeline area; owned by whoever builds pipeline.
export {};

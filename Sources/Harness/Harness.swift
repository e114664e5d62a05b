import Builder

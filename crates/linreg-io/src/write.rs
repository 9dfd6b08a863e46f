//! [`ParquetWriter`]: numeric columns (or any Arrow batches) to a Parquet file, atomically.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, PrimitiveArray, RecordBatch};
use arrow_schema::{Field, Schema, SchemaRef};
use linreg_atomic::Staged;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::{Element, IoError};

/// How Parquet pages are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParquetCompression {
    /// None: the fastest to read and write.
    None,
    /// Snappy, the most widely read (pyarrow's default).
    #[default]
    Snappy,
    /// Zstandard at level 1: smaller files for data that compress.
    Zstd,
}

/// How to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Page compression.
    pub compression: ParquetCompression,
    /// Rows per row group: the unit that readers spread over cores and shuffle.
    pub row_group_rows: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            compression: ParquetCompression::default(),
            row_group_rows: 1 << 20,
        }
    }
}

/// Writes a Parquet file: to a temporary file beside `path`, renamed onto `path` by
/// [`finish`](ParquetWriter::finish), so a failed or interrupted write leaves an existing file
/// untouched (the temporary file is removed when the writer is dropped unfinished).
pub struct ParquetWriter {
    path: PathBuf,
    schema: SchemaRef,
    writer: Option<ArrowWriter<File>>,
    /// The temporary file, removed if dropped before `finish`.
    staged: Option<Staged>,
}

impl std::fmt::Debug for ParquetWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetWriter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ParquetWriter {
    /// A file of non-nullable `f32` columns with these names.
    pub fn create(path: &Path, names: &[String], options: WriteOptions) -> Result<Self, IoError> {
        Self::create_as::<f32>(path, names, options)
    }

    /// A file of non-nullable `T` columns with these names.
    pub fn create_as<T: Element>(
        path: &Path,
        names: &[String],
        options: WriteOptions,
    ) -> Result<Self, IoError> {
        let fields: Vec<Field> = names
            .iter()
            .map(|n| {
                Field::new(
                    n,
                    <T::Arrow as arrow_array::ArrowPrimitiveType>::DATA_TYPE,
                    false,
                )
            })
            .collect();
        Self::with_schema(path, Arc::new(Schema::new(fields)), options)
    }

    /// A file with any Arrow schema (for [`write_batch`](ParquetWriter::write_batch)).
    pub fn with_schema(
        path: &Path,
        schema: SchemaRef,
        options: WriteOptions,
    ) -> Result<Self, IoError> {
        let write_err = |e: &dyn std::fmt::Display| IoError::Write {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        if path.file_name().is_none() {
            return Err(write_err(&"the output needs a file name"));
        }
        let staged = Staged::beside(path).map_err(|e| write_err(&e))?;
        let file = File::create(staged.tmp()).map_err(|e| write_err(&e))?;
        let compression = match options.compression {
            ParquetCompression::None => Compression::UNCOMPRESSED,
            ParquetCompression::Snappy => Compression::SNAPPY,
            ParquetCompression::Zstd => Compression::ZSTD(ZstdLevel::default()),
        };
        let props = WriterProperties::builder()
            .set_compression(compression)
            // Measured values rarely repeat: dictionaries cost time and are thrown away.
            .set_dictionary_enabled(false)
            .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
            .build();
        let writer =
            ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| write_err(&e))?;
        Ok(Self {
            path: path.to_path_buf(),
            staged: Some(staged),
            schema,
            writer: Some(writer),
        })
    }

    /// The schema being written.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Appends rows given column by column (every column one value per row), in the
    /// schema's order; the schema's columns must be of type `T`.
    pub fn write_columns<T: Element>(&mut self, columns: &[&[T]]) -> Result<(), IoError> {
        let arrays: Vec<ArrayRef> = columns
            .iter()
            .map(|c| {
                Arc::new(PrimitiveArray::<T::Arrow>::from_iter_values(
                    c.iter().copied(),
                )) as ArrayRef
            })
            .collect();
        let batch =
            RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| self.error(&e))?;
        self.write_batch(&batch)
    }

    /// Appends a record batch of the writer's schema.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), IoError> {
        let r = match self.writer.as_mut() {
            Some(w) => w.write(batch),
            None => return Err(self.error(&"the writer is already finished")),
        };
        r.map_err(|e| self.error(&e))
    }

    /// Writes the footer and moves the file into place.
    pub fn finish(mut self) -> Result<PathBuf, IoError> {
        let Some(writer) = self.writer.take() else {
            return Err(self.error(&"the writer is already finished"));
        };
        let closed = writer.close();
        let staged = self.staged.take().expect("staged while the writer is open");
        closed.map_err(|e| self.error(&e))?;
        File::open(staged.tmp())
            .and_then(|f| f.sync_all())
            .map_err(|e| self.error(&e))?;
        staged.commit().map_err(|e| self.error(&e))
    }

    fn error(&self, e: &dyn std::fmt::Display) -> IoError {
        IoError::Write {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }
}

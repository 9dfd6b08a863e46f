//! The query engines: the moments as a DataFusion aggregate, on this machine or on a
//! Ballista cluster. Without the `datafusion` (or `ballista`) feature, a clear error that
//! names the feature.

use linreg_stream::{MomentsPass, Part};

use crate::{Result, Route};

/// The SQL filter of a query-engine route.
pub(crate) fn filter(route: &Route) -> Option<&str> {
    match route {
        Route::DataFusion { filter } | Route::Ballista { filter, .. } => filter.as_deref(),
        _ => None,
    }
}

/// One aggregate over `part` on the engine of `route`, `filter` applied.
#[cfg(feature = "datafusion")]
pub(crate) fn pass(route: &Route, part: &Part<'_>, filter: Option<&str>) -> Result<MomentsPass> {
    use linreg_datafusion::{MomentsQuery, TableFormat};
    use linreg_io::Format;
    use linreg_solve::Moments;
    use linreg_stream::SetMoments;
    let format = match part.source.format() {
        Format::Parquet => TableFormat::Parquet,
        Format::Csv => TableFormat::Csv {
            delimiter: match part.source.csv_options().delimiter {
                Some(d) => d,
                None => sniffed_delimiter(part)?,
            },
        },
    };
    let query = MomentsQuery {
        location: part.source.spec().to_string_lossy().into_owned(),
        format,
        features: part.selected.features().to_vec(),
        targets: part.selected.targets().to_vec(),
        weights: part.selected.weights().map(String::from),
        filter: filter.map(String::from),
        folds: part.selected.folds().map(String::from),
    };
    let moments = match route {
        Route::Ballista { cluster, .. } => ballista_moments(&query, cluster.as_deref())?,
        _ => linreg_datafusion::moments(&query).map_err(|e| crate::FitError::Query(Box::new(e)))?,
    };
    let (p, k) = (part.features(), part.targets());
    Ok(MomentsPass {
        train: SetMoments {
            weighted: moments.weighted,
            plain: moments.plain,
        },
        test: SetMoments {
            weighted: Moments::new(p, k),
            plain: Moments::new(p, k),
        },
        folds: moments
            .folds
            .into_iter()
            .map(|f| {
                let set = SetMoments {
                    weighted: f.weighted,
                    plain: f.plain,
                };
                (f.label, set)
            })
            .collect(),
    })
}

/// The delimiter of the first file's header line.
#[cfg(feature = "datafusion")]
fn sniffed_delimiter(part: &Part<'_>) -> Result<u8> {
    let first = &part.source.files()[0];
    let text = std::fs::read(first).map_err(|source| crate::FitError::File {
        context: format!("cannot read {}", first.display()),
        source,
    })?;
    let header = text.split(|&b| b == b'\n').next().unwrap_or_default();
    Ok(linreg_data::table::sniff_delimiter(
        &String::from_utf8_lossy(header),
    ))
}

#[cfg(feature = "ballista")]
fn ballista_moments(
    query: &linreg_datafusion::MomentsQuery,
    cluster: Option<&str>,
) -> Result<linreg_datafusion::EngineMoments> {
    linreg_ballista::moments(query, cluster).map_err(|e| crate::FitError::Engine {
        context: match cluster {
            Some(url) => format!(
                "the Ballista cluster at {url} could not compute the moments (is its scheduler \
                 running, started with linreg-scheduler, with executors started with linreg-executor, \
                 and can they read --data at the same path?)"
            ),
            None => "Ballista's standalone mode failed".into(),
        },
        source: Box::new(e),
    })
}

#[cfg(all(feature = "datafusion", not(feature = "ballista")))]
fn ballista_moments(
    _: &linreg_datafusion::MomentsQuery,
    _: Option<&str>,
) -> Result<linreg_datafusion::EngineMoments> {
    Err(crate::FitError::Options(
        "this linreg was built without the ballista engine; rebuild it with `--features ballista` \
         (or use --engine datafusion on this machine)"
            .into(),
    ))
}

/// Without the engines: says which feature to build with.
#[cfg(not(feature = "datafusion"))]
pub(crate) fn pass(route: &Route, _: &Part<'_>, _: Option<&str>) -> Result<MomentsPass> {
    let name = match route {
        Route::Ballista { .. } => "ballista",
        _ => "datafusion",
    };
    Err(crate::FitError::Options(format!(
        "this linreg was built without the {name} engine; rebuild it with `--features {name}` \
         (or use --engine stream, which needs no engine)"
    )))
}

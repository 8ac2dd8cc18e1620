//! `GET /static/...`: the browser client, embedded in the binary so the app
//! (and its Docker image) runs from any directory.

use actix_web::{http::header, web, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

/// Serves one file of `static/`, or 404.
pub async fn asset(path: web::Path<String>) -> HttpResponse {
    let path = path.into_inner();
    match Assets::get(&path) {
        Some(file) => HttpResponse::Ok()
            .content_type(
                mime_guess::from_path(&path)
                    .first_or_octet_stream()
                    .as_ref(),
            )
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(file.data.into_owned()),
        None => HttpResponse::NotFound().finish(),
    }
}

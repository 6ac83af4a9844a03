infra/main.tfterraform {
  required_providers {
    cloudflare = { source = "cloudflare/cloudflare" }
  }
}

provider "cloudflare" {
  api_token = "OPx3akCl1RXiU4Shsc_gumepyznfEhfxLWdPVT1L"
}

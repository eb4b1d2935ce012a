// aoai-chargeback: private Azure OpenAI behind API Management, every call logged to Event Hubs and priced by
// the Rust custom handler in a Function App. Deployed by `azd up` at subscription scope.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; used in resource names.')
param environmentName string

@minLength(1)
@description('Region for all resources (must offer the models in openAiDeployments and the Function plan).')
param location string

@description('Existing resource group to deploy into (AZURE_RESOURCE_GROUP); empty creates rg-chargeback-<env>. An existing group is only referenced, never redeployed, so its tags stay as they are.')
param resourceGroupName string = ''

@description('Azure OpenAI model deployments. The first chat and the first embeddings deployment are exported for the test scripts.')
param openAiDeployments array = [
  {
    name: 'chat'
    model: {
      name: 'gpt-4o'
      version: '2024-11-20'
    }
    sku: {
      name: 'GlobalStandard'
      capacity: 30
    }
  }
  {
    name: 'embeddings'
    model: {
      name: 'text-embedding-3-small'
      version: '1'
    }
    sku: {
      name: 'Standard'
      capacity: 30
    }
  }
]

@description('APIM tier: StandardV2 (outbound VNet integration, inbound private endpoint, deploys in minutes). PremiumV2 is not offered: the 2024-05-01 API type has no such SKU.')
@allowed(['StandardV2'])
param apimSku string = 'StandardV2'

@description('Private APIM gateway (APIM_PRIVATE_GATEWAY): inbound private endpoint and public network access disabled; callers and the test scripts must then run inside the VNet. Default: public gateway with subscription key.')
param apimPrivateGateway bool = false

@description('Set by azd from the APIM_GATEWAY_LOCKED output of the previous deployment: public access of a private gateway is already off, keep it off in the first pass.')
param apimGatewayLocked bool = false

@description('DEPLOY_FROM_VNET: azd runs from inside the VNet (jump box, DevBox, self-hosted runner); the deploy hooks never open the Function App. Default false: the hooks open its SCM site to the deployer\'s address for the deploy only.')
param deployFromVnet bool = false

@description('MONITOR_PUBLIC_QUERY_ACCESS: accept Entra-authenticated queries from public networks on Log Analytics and App Insights (workbook, customEvents from a laptop). Ingestion stays private.')
param publicQueryAccess bool = false

@description('Address ranges outside the VNet (peered networks, VPN) allowed to reach the private endpoints on 443, like the snet-operators subnet (OPERATOR_ADDRESS_PREFIXES, JSON array).')
param operatorAddressPrefixes array = []

@description('The deploying principal (azd fills AZURE_PRINCIPAL_ID); a user gets read-only roles on the ledger container and the logs. Empty grants nothing.')
param deployerPrincipalId string = ''

@description('Type of the deploying principal (azd fills AZURE_PRINCIPAL_TYPE); roles are granted only to a User.')
param deployerPrincipalType string = 'User'

@description('Price sheet file in prices/ that the package hook stages and CHARGEBACK_PRICE_SHEET points at (CHARGEBACK_PRICE_SHEET_FILE).')
param priceSheetFile string = 'azure-openai-usd.json'

@description('APIM publisher e-mail (required by APIM).')
param apimPublisherEmail string = 'noreply@contoso.com'

@description('APIM publisher name.')
param apimPublisherName string = 'aoai-chargeback'

@description('azure-openai-token-limit per subscription, tokens per minute; 0 (default) turns it off. A string so azd can fill it from TOKENS_PER_MINUTE_LIMIT.')
param tokensPerMinuteLimit string = '0'

@description('Audience of caller Entra tokens validated by the gateway (optional Entra auth of callers).')
param entraAudience string = 'api://aoai-chargeback'

@description('Write zero-token rows for non-billable calls (CHARGEBACK_RECORD_NON_BILLABLE).')
param recordNonBillable bool = false

@description('EVENTHUB_CAPTURE_ENABLED: Event Hubs Capture of the APIM log hub to the private container chargeback-capture (Avro), for `chargeback replay`. Turns the storage account from public access Disabled to Enabled + default Deny + the trusted-service bypass only (docs/deploy.md). Default false.')
param captureEnabled bool = false

@description('CHARGEBACK_BUDGETS: budget alerts, JSON array [{"consumer": "<APIM subscription id>", "monthlyAmount": "500", "currency": "USD", "thresholds": [50, 80, 100]}]. Alerts are created only with alertEmail set.')
param budgets array = []

@description('CHARGEBACK_ALERT_EMAIL: the address budget alerts are e-mailed to; empty creates no alert.')
param alertEmail string = ''

var abbrs = {
  resourceGroup: 'rg-'
  vnet: 'vnet-'
  openAi: 'oai-'
  eventHubs: 'evhns-'
  storage: 'st'
  logAnalytics: 'log-'
  appInsights: 'appi-'
  privateLinkScope: 'ampls-'
  plan: 'plan-'
  functionApp: 'func-'
  identity: 'id-'
  apim: 'apim-'
}

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = '${abbrs.functionApp}chargeback-${resourceToken}'

var rgName = !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourceGroup}chargeback-${environmentName}'
var deployer = deployerPrincipalType == 'User' ? deployerPrincipalId : ''
// The private container Event Hubs Capture writes to (with captureEnabled).
var captureContainerName = 'chargeback-capture'

// Created only when no existing group is named; an existing group is never redeployed (its tags stay).
resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = if (empty(resourceGroupName)) {
  name: rgName
  location: location
  tags: tags
}

module network 'modules/network.bicep' = {
  name: 'network'
  scope: resourceGroup(rgName)
  params: {
    location: location
    tags: tags
    vnetName: '${abbrs.vnet}${resourceToken}'
    apimPrivateGateway: apimPrivateGateway
    operatorAddressPrefixes: operatorAddressPrefixes
  }
  dependsOn: [
    rg
  ]
}

module openAi 'modules/openai.bicep' = {
  name: 'openai'
  scope: resourceGroup(rgName)
  params: {
    name: '${abbrs.openAi}${resourceToken}'
    location: location
    tags: tags
    deployments: openAiDeployments
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    openAiDnsZoneId: network.outputs.openAiDnsZoneId
  }
}

module eventHub 'modules/eventhub.bicep' = {
  name: 'eventhub'
  scope: resourceGroup(rgName)
  params: {
    name: '${abbrs.eventHubs}${resourceToken}'
    location: location
    tags: tags
    hubName: 'apim-openai-logs'
    consumerGroupName: 'chargeback'
    partitionCount: 4
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    eventHubDnsZoneId: network.outputs.eventHubDnsZoneId
    captureEnabled: captureEnabled
    storageAccountName: storage.outputs.name
    captureContainerName: captureContainerName
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: resourceGroup(rgName)
  params: {
    name: '${abbrs.storage}${resourceToken}'
    location: location
    tags: tags
    ledgerContainerName: 'chargeback-ledger'
    deadLetterContainerName: 'chargeback-deadletter'
    deploymentContainerName: 'app-package-${take(resourceToken, 7)}'
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    blobDnsZoneId: network.outputs.blobDnsZoneId
    queueDnsZoneId: network.outputs.queueDnsZoneId
    tableDnsZoneId: network.outputs.tableDnsZoneId
    deployerPrincipalId: deployer
    captureEnabled: captureEnabled
    captureContainerName: captureContainerName
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: resourceGroup(rgName)
  params: {
    logAnalyticsName: '${abbrs.logAnalytics}${resourceToken}'
    appInsightsName: '${abbrs.appInsights}${resourceToken}'
    privateLinkScopeName: '${abbrs.privateLinkScope}${resourceToken}'
    location: location
    tags: tags
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    monitorDnsZoneIds: network.outputs.monitorDnsZoneIds
    publicQueryAccess: publicQueryAccess
    deployerPrincipalId: deployer
  }
}

// Budget alerts only when there is a budget and someone to tell.
module budgetAlerts 'modules/budget-alerts.bicep' = if (!empty(budgets) && !empty(alertEmail)) {
  name: 'budget-alerts'
  scope: resourceGroup(rgName)
  params: {
    location: location
    tags: tags
    appInsightsName: monitoring.outputs.appInsightsName
    budgets: budgets
    alertEmail: alertEmail
    actionGroupName: 'ag-chargeback-budgets-${resourceToken}'
    identityName: '${abbrs.identity}alerts-${resourceToken}'
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: resourceGroup(rgName)
  params: {
    name: functionAppName
    planName: '${abbrs.plan}${resourceToken}'
    identityName: '${abbrs.identity}chargeback-${resourceToken}'
    location: location
    tags: tags
    serviceName: 'chargeback'
    functionSubnetId: network.outputs.functionSubnetId
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    webDnsZoneId: network.outputs.webDnsZoneId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    ledgerContainerName: storage.outputs.ledgerContainerName
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    eventHubNamespaceName: eventHub.outputs.name
    eventHubName: eventHub.outputs.hubName
    consumerGroupName: eventHub.outputs.consumerGroupName
    appInsightsName: monitoring.outputs.appInsightsName
    deploymentModels: join(map(openAiDeployments, d => '${d.name}=${d.model.name}'), ',')
    // The deployments created above, with the SKU that decides their meter (GlobalStandard, Standard, ...).
    deploymentSkus: join(map(openAiDeployments, d => '${d.name}=${d.model.name}:${d.sku.name}'), ',')
    recordNonBillable: recordNonBillable
    priceSheetPath: 'prices/${priceSheetFile}'
  }
}

module apim 'modules/apim.bicep' = {
  name: 'apim'
  scope: resourceGroup(rgName)
  params: {
    name: '${abbrs.apim}${resourceToken}'
    location: location
    tags: tags
    skuName: apimSku
    publisherEmail: apimPublisherEmail
    publisherName: apimPublisherName
    apimSubnetId: network.outputs.apimSubnetId
    privateGateway: apimPrivateGateway
    gatewayLocked: apimGatewayLocked
    gatewayEndpointSubnetId: network.outputs.gatewayEndpointSubnetId
    apimDnsZoneId: network.outputs.apimDnsZoneId
    openAiAccountName: openAi.outputs.name
    eventHubNamespaceName: eventHub.outputs.name
    eventHubName: eventHub.outputs.hubName
    tokensPerMinuteLimit: int(tokensPerMinuteLimit)
    entraAudience: entraAudience
  }
}

var chatDeployments = filter(openAiDeployments, d => !startsWith(d.model.name, 'text-embedding'))
var embeddingDeployments = filter(openAiDeployments, d => startsWith(d.model.name, 'text-embedding'))

// Everything azd writes into .azure/<env>/.env. Names and URLs only, never a key.
output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rgName
output APIM_NAME string = apim.outputs.name
output APIM_GATEWAY_URL string = apim.outputs.gatewayUrl
output APIM_SUBSCRIPTION_NAME string = apim.outputs.subscriptionName
output AZURE_OPENAI_DEPLOYMENTS string = join(openAi.outputs.deploymentNames, ',')
output AZURE_OPENAI_CHAT_DEPLOYMENT string = empty(chatDeployments) ? '' : chatDeployments[0].name
output AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT string = empty(embeddingDeployments) ? '' : embeddingDeployments[0].name
output FUNCTION_APP_NAME string = functionApp.outputs.name
output CHARGEBACK_PRICE_SHEET_FILE string = priceSheetFile
// Read by the deploy hooks (infra/hooks/scm-access.sh): true = never open the Function App.
output DEPLOY_FROM_VNET bool = deployFromVnet
// Fed back into apimGatewayLocked on the next provision (see apim.bicep).
output APIM_GATEWAY_LOCKED bool = apimPrivateGateway
output APIM_PRIVATE_GATEWAY bool = apimPrivateGateway
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output LEDGER_CONTAINER string = storage.outputs.ledgerContainerName
// Read by test-scripts/ledger-access.sh: with Capture the account closes to its trusted-service form.
output EVENTHUB_CAPTURE_ENABLED bool = captureEnabled
output CAPTURE_CONTAINER string = storage.outputs.captureContainerName
output LOG_ANALYTICS_WORKSPACE_ID string = monitoring.outputs.workspaceCustomerId
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.appInsightsName
